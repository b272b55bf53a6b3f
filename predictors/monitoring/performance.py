"""Is the model still right? The accuracy of the answers people labelled, against the card's.

Labels come from feedback (`PredictionLog.add_feedback`: "Was this right?" in the apps, the CLI's
`feedback`, the model server's `/feedback`). `performance_report` gives the accuracy of the
labelled predictions, per-class precision and recall, the confusion matrix and the accuracy by
day, and a verdict: *below the card* when a one-sided exact binomial test rejects "the accuracy
is at least the card's held-out accuracy" (p < `alpha`), *not enough labels* below `min_labels`,
else *ok*. The p-value is in the report, so a small dip on few labels is not an alarm.
"""
from __future__ import annotations

import pandas as pd

from predictors.core.helpers import figure, p_value as _p, pct as _pct
from predictors.kinds import kind
from predictors.kinds.classifier import class_performance
from predictors.kinds.base import PerformanceSettings
from predictors.monitoring.pages import performance_html
from predictors.monitoring.drift import BIN

__all__ = ['PerformanceSettings', 'performance_report', 'performance_text', 'performance_html', 'labels_from_frame',
           'feedback_rows']



def performance_report(labelled: pd.DataFrame, card: dict, settings: PerformanceSettings = PerformanceSettings()) -> dict:
    """The live performance of `card`'s model from `labelled` (columns `ts`, `prediction`, `truth`:
    one row per labelled prediction, as `PredictionLog.labelled` reads them), as its kind scores it."""
    if not card.get('task'): return class_performance(labelled, card, settings)   # a card naming no task: classes
    return kind(card['task']).performance(labelled, card, settings)


def _key(v) -> str:
    "An input value as a matching key: empty is '', a number its float, text without its padding."
    if v is None or (isinstance(v, float) and v != v): return ''
    if isinstance(v, str):
        v = v.strip()
        try: return repr(float(v)) if v else ''
        except ValueError: return v
    try: return repr(float(v))
    except (TypeError, ValueError): return str(v)


def labels_from_frame(df: pd.DataFrame, card: dict, log) -> tuple[list[tuple[int, int, str]], list[tuple[int, str]]]:
    """Labels that arrive later, as a table: `(row, answer id, truth)` for the rows that name an answer
    and `(row, reason)` for the rows that cannot be used (rows counted from 1). The table has the true class in `truth` (or the card's target column) and
    either the answer's `id` (or `prediction_id`), or the model's input columns, matched to the most
    recent logged answer with the same inputs."""
    target = card.get('target') or (card.get('schema') or {}).get('target')
    tcol = 'truth' if 'truth' in df.columns else target if target in df.columns else None
    if tcol is None: raise ValueError(f'the labels need a column "truth" (or "{target}") with the right class.')
    idcol = next((c for c in ('id', 'prediction_id') if c in df.columns), None)
    fields = [c['name'] for c in (card.get('schema') or {}).get('inputs', []) if c['name'] != target]
    if idcol is None and (not fields or any(f not in df.columns for f in fields)):
        missing = [f for f in fields if f not in df.columns]
        raise ValueError('the labels need an "id" column (the answer\'s id) or every input column of the model'
                         + (f' (missing: {", ".join(missing)})' if missing else '') + '.')
    pairs, problems = [], []
    latest = {}
    if idcol is None:
        logged = log.read(card['name'])
        logged = logged[logged['error'].isna()] if len(logged) else logged
        for i, inputs in zip(logged['id'], logged['inputs']):
            latest[tuple(_key(inputs.get(f)) for f in fields)] = int(i)      # later answers overwrite earlier ones
    for n, row in enumerate(df.to_dict('records'), start=1):
        truth = row[tcol]
        if truth is None or (isinstance(truth, float) and truth != truth) or not str(truth).strip():
            problems.append((n, 'no true class given')); continue
        truth = str(truth) if str(truth) in (card.get('classes') or []) else str(truth).strip()
        if idcol is not None:
            try: pairs.append((n, int(row[idcol]), truth))
            except (TypeError, ValueError): problems.append((n, f'{row[idcol]!r} is not an answer id'))
            continue
        found = latest.get(tuple(_key(row[f]) for f in fields))
        if found is None: problems.append((n, 'no logged answer with these inputs'))
        else: pairs.append((n, found, truth))
    return pairs, problems


def _errors_text(r: dict) -> str:
    "A regression's live performance as lines for a terminal."
    s, u = r['settings'], r.get('units')
    lines = [f'{r["model"]} {r["version"]}: {r["verdict"]} — MAE {figure(r["mae"], u)}, RMSE {figure(r["rmse"])} on '
             f'{r["labelled"]} labelled answer(s), card MAE {figure(r["card_mae"], u)} (one-sided t-test of the absolute '
             f'errors p = {_p(r["p_value"])}, alpha {s["alpha"]}, at least {s["min_labels"]} labels needed)']
    if r['by_day']: lines.append('  by day: ' + ', '.join(f'{d["day"]} MAE {figure(d["mae"])} ({d["n"]})' for d in r['by_day']))
    return '\n'.join(lines)


def _labels_text(r: dict) -> str:
    "A multi-label model's live performance as lines for a terminal."
    s = r['settings']
    lines = [f'{r["model"]} {r["version"]}: {r["verdict"]} — F1 {_pct(r["f1"])}, every label right on {_pct(r["exact"])} '
             f'of {r["labelled"]} labelled picture(s), card F1 {_pct(r["card_f1"])} (one-sided bootstrap p = '
             f'{_p(r["p_value"])}, alpha {s["alpha"]}, at least {s["min_labels"]} labels needed)']
    if r['labelled']: lines += _table_lines('label', r['per_label'], [f'{d["day"]} F1 {_pct(d["f1"])} ({d["n"]})'
                                                                      for d in r['by_day']])
    return '\n'.join(lines)


def _table_lines(what: str, rows: list, days: list) -> list:
    "Per class (or label) support, precision and recall as aligned lines, then the days on one line."
    return ([f'  {what:<24} {"support":>8} {"precision":>10} {"recall":>8}']
            + [f'  {c["cls"]:<24} {c["support"]:>8} {_pct(c["precision"]):>10} {_pct(c["recall"]):>8}' for c in rows]
            + ['  by day: ' + ', '.join(days)])


def performance_text(r: dict) -> str:
    "The report as lines for a terminal, as its `measure` is read."
    return _TEXT[r.get('measure', 'accuracy')](r)


def _accuracy_text(r: dict) -> str:
    "A classifier's live accuracy as lines for a terminal."
    s = r['settings']
    lines = [f'{r["model"]} {r["version"]}: {r["verdict"]} — accuracy {_pct(r["accuracy"])} on {r["labelled"]} '
             f'labelled prediction(s), card {_pct(r["card_accuracy"])} (one-sided binomial p = {_p(r["p_value"])}, '
             f'alpha {s["alpha"]}, at least {s["min_labels"]} labels needed)']
    if r['labelled']: lines += _table_lines('class', r['per_class'], [f'{d["day"]} {_pct(d["accuracy"])} ({d["n"]})'
                                                                      for d in r['by_day']])
    return '\n'.join(lines)


def _judged(r: dict) -> str:
    "The feedback rate: how many of the model's answers in the window were judged (', 40 of 52 answers judged: 77%')."
    n = r.get('answers')
    return f'; {r["labelled"]} of {n} answer(s) judged: {_pct(r["labelled"] / n)}' if n else ''


def _kept_text(r: dict) -> str:
    "A language model's live feedback as lines for a terminal."
    lines = [f'{r["model"]} {r["version"]}: {r["verdict"]} — kept {_pct(r["kept_share"])} of {r["labelled"]} judged '
             f'continuation(s) ({r["kept"]} kept{_judged(r)}); held-out perplexity on the card {figure(r["card_perplexity"])}']
    if r['by_day']: lines.append('  by day: ' + ', '.join(f'{d["day"]} kept {_pct(d["kept"])} ({d["n"]})' for d in r['by_day']))
    return '\n'.join(lines)


_TEXT = {'accuracy': _accuracy_text, 'error': _errors_text, 'labels': _labels_text, 'kept': _kept_text}   # one renderer per measure


def feedback_rows(log, name: str, target: str) -> pd.DataFrame:
    """The labelled answers of model `name` as training rows: their inputs, and the right class in
    `target`. Answers logged as bins only (FASTAI_APPS_LOG_INPUTS=bins) hold no values to train on
    and are left out; so are repeats of the same inputs with the same label."""
    lab = log.labelled(name)
    rows = [dict(r, **{target: t}) for r, t in zip(lab['inputs'], lab['truth'])
            if not any(isinstance(v, str) and v.startswith(BIN) for v in r.values())]
    df = pd.DataFrame(rows)
    return df[~df.astype(str).duplicated()].reset_index(drop=True) if len(df) else df
