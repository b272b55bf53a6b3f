"""Training a tabular classifier reproducibly and registering it in the store.

`train_tabular` follows fastai's tabular recipe (FillMissing, Categorify, Normalize) and writes a
model card with the schema, held-out metrics and reference statistics of the training data.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd

from predictors.core.store import ModelError, ModelStore
from predictors.kinds.tabular.schema import reference_stats, tabular_schema
from predictors.kinds.training import class_dist, library_versions, parse_templates, seed_everything

__all__ = ['train_tabular', 'infer_columns']


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


def train_tabular(csv, target: str, name: str, cat=None, cont=None, store: ModelStore | None = None,
                  epochs: int = 4, lr: float = 1e-2, valid_pct: float = 0.2, seed: int = 42,
                  templates: dict | None = None, max_rows: int | None = None, activate: bool = True,
                  extra: pd.DataFrame | None = None, log=print) -> str:
    """Train a tabular classifier on `csv` and register it as a new version of `name` (active unless
    `activate` is False). `extra`: more rows (labelled answers, `feedback_rows`), added after `max_rows`
    sampling; rows that repeat one already there are dropped."""
    from fastai.tabular.all import (Categorify, CategoryBlock, FillMissing, Normalize, RandomSplitter,
                                    TabularPandas, accuracy, range_of, tabular_learner)
    store = store or ModelStore()
    try:
        df = pd.read_csv(csv)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ModelError(f'cannot read the CSV {csv}: {e}') from None
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
    cat, cont = infer_columns(df, target, cat, cont)
    if not cat and not cont: raise ModelError('no input columns to train on.')
    df = df.dropna(subset=[target]).reset_index(drop=True)
    df[target] = df[target].astype(str)
    if df[target].nunique() < 2: raise ModelError(f'target {target!r} needs at least two classes.')
    seed_everything(seed)
    splits = RandomSplitter(valid_pct=valid_pct, seed=seed)(range_of(df))
    to = TabularPandas(df, procs=[Categorify, FillMissing, Normalize], cat_names=cat, cont_names=cont,
                       y_names=target, y_block=CategoryBlock(), splits=splits)
    dls = to.dataloaders(bs=int(min(256, max(16, len(splits[0]) // 8))), num_workers=0)  # small data: more steps
    learn = tabular_learner(dls, metrics=accuracy)
    t0 = time.time()
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, lr)
        preds, y = learn.get_preds(ds_idx=1)
    acc = float((preds.argmax(1) == y.flatten()).float().mean())
    log(f'{name}: trained in {time.time() - t0:.0f}s, held-out accuracy {acc:.4f} on {len(y)} rows')
    train_df = df.iloc[list(splits[0])]
    schema = tabular_schema(learn, train_df)
    classes = [str(c) for c in learn.dls.vocab]
    card = dict(task='tabular', target=target, classes=classes, schema=schema,
                metrics=dict(accuracy=round(acc, 5), valid_rows=len(y), train_rows=len(splits[0]),
                             epochs=epochs),
                reference=reference_stats(train_df, schema,
                                          valid_pred_dist=class_dist(preds.argmax(1).numpy(), classes)),
                data_source=dict(csv=str(csv), rows=len(df), **({'feedback_rows': n_extra} if extra is not None else {})),
                templates=parse_templates(templates, classes),
                library=library_versions(), **_labels_of_previous(store, name, schema))
    with tempfile.TemporaryDirectory() as d:
        learn.export(Path(d) / 'model.pkl')
        return store.register(name, Path(d) / 'model.pkl', card, activate=activate)


def _labels_of_previous(store: ModelStore, name: str, schema: dict) -> dict:
    "The active version's `labels` and `help` for the columns the new version still has (a retrain keeps them)."
    try:
        old = store.card(name)
    except ModelError:
        return {}
    keep = {c['name'] for c in schema['inputs']}
    return {k: {c: t for c, t in (old.get(k) or {}).items() if c in keep} for k in ('labels', 'help') if old.get(k)}
