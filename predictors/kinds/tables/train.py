"""Training a model of table rows reproducibly and registering it in the store (`train-tabular`).

`train_tabular` reads the rows, chooses the inputs and the held-out split, and lets a kind fit them with fastai's
tabular recipe (FillMissing, Categorify, Normalize): a numeric target the regression kind, anything else the tabular
classifier (their `fit`, reached through the registry); the card gets the schema, held-out metrics and reference
statistics of the training data, and keeps what the previous version's card said that still applies.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from predictors.core.store import ModelError, ModelStore
from predictors.kinds.base import kind
from predictors.kinds.training import library_versions

__all__ = ['train_tabular', 'infer_columns', 'read_training_frame', 'split_rows', 'is_regression']


def infer_columns(df: pd.DataFrame, target: str, cat=None, cont=None):
    "Categorical and continuous input columns: given ones, else inferred from dtypes."
    if target not in df.columns:
        raise ModelError(f'target column {target!r} is not in the CSV (columns: {", ".join(df.columns)}).')
    for c in list(cat or []) + list(cont or []):
        if c not in df.columns: raise ModelError(f'column {c!r} is not in the CSV.')
    rest = [c for c in df.columns if c != target and c not in (cat or []) and c not in (cont or [])]
    if cat is None: cat = [c for c in rest if not pd.api.types.is_numeric_dtype(df[c]) or df[c].dtype == bool]
    if cont is None: cont = [c for c in rest if c not in cat and pd.api.types.is_numeric_dtype(df[c])]
    return list(cat), list(cont)


def read_training_frame(csv, target: str, max_rows: int | None = None, extra: pd.DataFrame | None = None,
                        seed: int = 42) -> tuple[pd.DataFrame, int]:
    """The training rows of `csv` (a sample of `max_rows`), with the `extra` rows (labelled answers) that do
    not repeat one already there; rows without a target dropped. Returns (rows, how many extra were added)."""
    try:
        df = pd.read_csv(csv)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ModelError(f'cannot read the CSV {csv}: {e}') from None
    if target not in df.columns:
        raise ModelError(f'target column {target!r} is not in the CSV (columns: {", ".join(df.columns)}).')
    if max_rows: df = df.sample(n=min(max_rows, len(df)), random_state=seed).reset_index(drop=True)
    n_extra = 0
    if extra is not None and len(extra):
        ex = extra.reindex(columns=df.columns)
        for c in df.columns:           # numbers typed in a form or a CSV as text are numbers here
            if pd.api.types.is_numeric_dtype(df[c]): ex[c] = pd.to_numeric(ex[c], errors='coerce')
        key = lambda d: d.astype(str).agg('\x1f'.join, axis=1)
        k = key(ex)
        ex = ex[~k.isin(set(key(df))) & ~k.duplicated()]
        n_extra, df = len(ex), pd.concat([df, ex], ignore_index=True)
    return df.dropna(subset=[target]).reset_index(drop=True), n_extra


def split_rows(df: pd.DataFrame, valid_pct: float, seed: int, time_column: str | None = None):
    """(train, valid) row positions: `valid_pct` of the rows at random, or with `time_column` the latest
    `valid_pct` of them by that column (a model is judged on the time after the one it learnt from)."""
    from fastai.tabular.all import RandomSplitter, range_of
    if not time_column: return RandomSplitter(valid_pct=valid_pct, seed=seed)(range_of(df))
    if time_column not in df.columns: raise ModelError(f'--time-column {time_column!r} is not in the CSV.')
    order = pd.to_datetime(df[time_column], errors='coerce') if df[time_column].dtype == object else df[time_column]
    pos = np.argsort(np.asarray(order), kind='stable')
    cut = int(round(len(df) * (1 - valid_pct)))
    return sorted(pos[:cut].tolist()), sorted(pos[cut:].tolist())


def is_regression(y: pd.Series) -> bool:
    "A numeric target with more than 10 different values is a number to predict, not a class."
    return bool(pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y) and y.nunique() > 10)


def train_tabular(csv, target: str, name: str, cat=None, cont=None, store: ModelStore | None = None,
                  epochs: int = 4, lr: float = 1e-2, valid_pct: float = 0.2, seed: int = 42,
                  templates: dict | None = None, max_rows: int | None = None, activate: bool = True,
                  extra: pd.DataFrame | None = None, log=print, regression: bool | None = None,
                  exclude=None, time_column: str | None = None, **options) -> str:
    """Train a tabular model on `csv` and register it as a new version of `name` (active unless `activate`
    is False): a classifier, or a regression when the target is a number (`is_regression`, or
    `regression=True`; `options` then go to `train_regression`). `extra`: more rows (labelled answers,
    `feedback_rows`), added after `max_rows` sampling; rows that repeat one already there are dropped.
    `exclude`: columns not to learn from; `time_column`: hold out the latest rows by it (never an input)."""
    store = store or ModelStore()
    df, n_extra = read_training_frame(csv, target, max_rows, extra, seed)
    drop = [c for c in [*(exclude or []), time_column] if c]
    for c in drop:
        if c not in df.columns: raise ModelError(f'column {c!r} is not in the CSV.')
    cat, cont = infer_columns(df.drop(columns=drop), target, cat, cont)
    if not cat and not cont: raise ModelError('no input columns to train on.')
    splits = split_rows(df, valid_pct, seed, time_column)
    source = dict(csv=str(csv), rows=len(df), **({'feedback_rows': n_extra} if extra is not None else {}),
                  **({'valid': f'the latest {valid_pct:.0%} of rows by {time_column}'} if time_column else {}))
    number = regression or (regression is None and is_regression(df[target]))
    if options and not number: raise ModelError(f'{", ".join(sorted(options))} go(es) with a regression (a numeric target).')
    learn, card = kind('regression' if number else 'tabular').fit(df, target, cat, cont, splits, epochs, lr, seed,
                                                                 templates, log, name, **options)
    card.update(data_source=source, library=library_versions(), **_kept_from_previous(store, name, card, log))
    with tempfile.TemporaryDirectory() as d:
        learn.export(Path(d) / 'model.pkl')
        return store.register(name, Path(d) / 'model.pkl', card, activate=activate)


def _kept_from_previous(store: ModelStore, name: str, card: dict, log=print) -> dict:
    """What the active version's card said that a retrain keeps unless told otherwise: `labels` and `help` of
    the columns the new version still has; for the same target and task, the sentence per class (or value)
    when no --describe was given, and a regression's units when no --units was."""
    try:
        old = store.card(name)
    except ModelError:
        return {}
    keep = {c['name'] for c in card['schema']['inputs']}
    out = {k: {c: t for c, t in (old.get(k) or {}).items() if c in keep} for k in ('labels', 'help') if old.get(k)}
    if old.get('target') != card['target'] or old.get('task') != card['task']: return out
    said = set(card.get('classes') or ()) or {'value', 'range'}     # a classifier's classes, or a number's sentences
    kept = {c: t for c, t in (old.get('templates') or {}).items() if c in said}
    if kept and not card.get('templates'):
        out['templates'] = kept
        log(f'{name}: kept the sentences of {old["version"]} for {", ".join(kept)} (--describe to change them)')
    units = (old.get('regression') or {}).get('units')
    if units and card.get('regression') and not card['regression'].get('units'):
        out['regression'] = dict(card['regression'], units=units)
        log(f'{name}: kept the units of {old["version"]}: {units} (--units to change them)')
    return out
