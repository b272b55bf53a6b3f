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

from predictors.core.helpers import esc, figure, p_value as _p, pct as _pct
from predictors.kinds import kind
from predictors.kinds.classifier import class_performance
from predictors.kinds.base import PerformanceSettings

__all__ = ['PerformanceSettings', 'performance_report', 'performance_text', 'performance_html',
           'PERFORMANCE_COLOURS', 'labels_from_frame', 'feedback_rows']

PERFORMANCE_COLOURS = {'ok': '#1f9d55', 'below the card': '#d93025', 'not enough labels': '#6b7280', 'no error on the card': '#6b7280',
                       'no accuracy on the card': '#6b7280', 'no F1 on the card': '#6b7280'}
_MEASURED = {'accuracy': 'accuracy', 'error': 'error', 'labels': 'F1'}   # what each measure is called


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


def _errors_html(r: dict, head: str) -> str:
    "A regression's live performance as HTML, after the verdict's heading `head`."
    s, u = r['settings'], r.get('units')
    if not r['labelled']:
        return head + (f'<p class="app-perf-summary"><b class="app-labelled">0</b> answers of {esc(r["model"])} '
                       f'{esc(r["version"])} with their real number in this window (the card says MAE '
                       f'{esc(figure(r["card_mae"], u))} on held-out data): type it under an answer in the app, or '
                       f'<code>python -m predictors feedback NAME labels.csv</code>.</p></div>')
    days = ''.join(f'<tr><td>{esc(d["day"])}</td><td>{d["n"]}</td><td>{esc(figure(d["mae"]))}</td></tr>' for d in r['by_day'])
    return head + (f'<p class="app-perf-summary">Typical error <b class="app-live-mae">{esc(figure(r["mae"], u))}</b> '
                   f'(MAE; RMSE {esc(figure(r["rmse"]))}) on <b class="app-labelled">{r["labelled"]}</b> answer(s) of '
                   f'{esc(r["model"])} {esc(r["version"])} whose real number is known; the card says MAE '
                   f'{esc(figure(r["card_mae"], u))} on held-out data. One-sided t-test of the absolute errors p = '
                   f'{_p(r["p_value"])} (flagged below {s["alpha"]}; at least {s["min_labels"]} labels needed).</p>'
                   f'<table class="app-table app-perf-days"><thead><tr><th>day (UTC)</th><th>labelled</th><th>MAE</th>'
                   f'</tr></thead><tbody>{days}</tbody></table></div>')


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


def _labels_html(r: dict, head: str) -> str:
    "A multi-label model's live performance as HTML, after the verdict's heading `head`."
    s = r['settings']
    if not r['labelled']:
        return head + (f'<p class="app-perf-summary"><b class="app-labelled">0</b> labelled answers of {esc(r["model"])} '
                       f'{esc(r["version"])} in this window (the card says F1 {_pct(r["card_f1"])} on held-out '
                       f'pictures): tick the right labels under an answer in the image app, or <code>python -m '
                       f'predictors feedback NAME labels.csv</code>.</p></div>')
    name = lambda c: (r.get('names') or {}).get(c, c)
    rows = ''.join(f'<tr><td>{esc(name(c["cls"]))}</td><td>{c["support"]}</td><td>{_pct(c["precision"])}</td>'
                   f'<td>{_pct(c["recall"])}</td></tr>' for c in r['per_label'] if c['support'] or c['predicted'])
    days = ''.join(f'<tr><td>{esc(d["day"])}</td><td>{d["n"]}</td><td>{_pct(d["f1"])}</td></tr>' for d in r['by_day'])
    return head + (
        f'<p class="app-perf-summary">F1 <b class="app-live-f1">{_pct(r["f1"])}</b> on <b class="app-labelled">'
        f'{r["labelled"]}</b> labelled picture(s) of {esc(r["model"])} {esc(r["version"])}, every label right on '
        f'{_pct(r["exact"])}; the card says F1 {_pct(r["card_f1"])} on held-out pictures. One-sided bootstrap p = '
        f'{_p(r["p_value"])} (flagged below {s["alpha"]}; at least {s["min_labels"]} labels needed).</p>'
        f'<div style="display:flex;gap:24px;flex-wrap:wrap"><table class="app-table app-perf-classes"><thead><tr>'
        f'<th>label</th><th>in the pictures</th><th>precision</th><th>recall</th></tr></thead><tbody>{rows}</tbody>'
        f'</table><table class="app-table app-perf-days"><thead><tr><th>day (UTC)</th><th>labelled</th><th>F1</th>'
        f'</tr></thead><tbody>{days}</tbody></table></div></div>')


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


def performance_html(r: dict) -> str:
    "The report as an HTML fragment, as its `measure` is read: its verdict, then its figures."
    colour = PERFORMANCE_COLOURS.get(r['verdict'], '#6b7280')
    measure = r.get('measure', 'accuracy')
    head = (f'<div class="app-performance" style="font-family:system-ui,sans-serif">'
            f'<h3 style="margin:6px 0">Live {_MEASURED[measure]} '
            f'<span class="app-perf-verdict" style="color:#fff;background:{colour};'
            f'padding:1px 8px;border-radius:10px;font-size:13px">{esc(r["verdict"])}</span></h3>')
    return _HTML[measure](r, head)


def _accuracy_html(r: dict, head: str) -> str:
    "A classifier's live accuracy as HTML, after the verdict's heading `head`: per-class table, confusion, by day."
    s = r['settings']
    if not r['labelled']:
        return head + (f'<p class="app-perf-summary"><b class="app-labelled">0</b> labelled answers of {esc(r["model"])} '
                       f'{esc(r["version"])} in this window (the card says {_pct(r["card_accuracy"])} on held-out data): '
                       f'answer "Was this right?" under an answer in the apps, or <code>python -m predictors feedback '
                       f'NAME labels.csv</code>.</p></div>')
    head += (f'<p class="app-perf-summary">Accuracy <b class="app-live-accuracy">{_pct(r["accuracy"])}</b> on '
             f'<b class="app-labelled">{r["labelled"]}</b> labelled answer(s) of {esc(r["model"])} {esc(r["version"])}; '
             f'the card says {_pct(r["card_accuracy"])} on held-out data. One-sided binomial test p = {_p(r["p_value"])} '
             f'(flagged below {s["alpha"]}; at least {s["min_labels"]} labels needed).</p>')
    # the classes the labelled answers name (as truth or answer): a 36-class model with one label shows one row
    name = lambda c: (r.get('names') or {}).get(c, c)
    seen = [i for i, c in enumerate(r['classes'])
            if any(r['confusion'][i]) or any(row[i] for row in r['confusion'])]
    rows = ''.join(f'<tr><td>{esc(name(c["cls"]))}</td><td>{c["support"]}</td><td>{_pct(c["precision"])}</td>'
                   f'<td>{_pct(c["recall"])}</td></tr>' for c in (r['per_class'][i] for i in seen))
    table = (f'<table class="app-table app-perf-classes"><thead><tr><th>class</th><th>labelled</th><th>precision</th>'
             f'<th>recall</th></tr></thead><tbody>{rows}</tbody></table>')
    cm_head = ''.join(f'<th>{esc(name(r["classes"][j]))}</th>' for j in seen)
    cm_rows = ''.join(f'<tr><th>{esc(name(r["classes"][i]))}</th>' + ''.join(f'<td>{r["confusion"][i][j]}</td>' for j in seen)
                      + '</tr>' for i in seen)
    cm = (f'<table class="app-table app-confusion"><caption style="text-align:left">Confusion: rows are the true '
          f'class, columns the answer</caption><thead><tr><th></th>{cm_head}</tr></thead><tbody>{cm_rows}</tbody></table>')
    days = ''.join(f'<tr><td>{esc(d["day"])}</td><td>{d["n"]}</td><td>{_pct(d["accuracy"])}</td></tr>' for d in r['by_day'])
    by_day = (f'<table class="app-table app-perf-days"><thead><tr><th>day (UTC)</th><th>labelled</th><th>accuracy</th>'
              f'</tr></thead><tbody>{days}</tbody></table>')
    return head + f'<div style="display:flex;gap:24px;flex-wrap:wrap">{table}{cm}{by_day}</div></div>'


_TEXT = {'accuracy': _accuracy_text, 'error': _errors_text, 'labels': _labels_text}     # one renderer per measure
_HTML = {'accuracy': _accuracy_html, 'error': _errors_html, 'labels': _labels_html}


def feedback_rows(log, name: str, target: str) -> pd.DataFrame:
    """The labelled answers of model `name` as training rows: their inputs, and the right class in
    `target`. Answers logged as bins only (FASTAI_APPS_LOG_INPUTS=bins) hold no values to train on
    and are left out; so are repeats of the same inputs with the same label."""
    from predictors.monitoring.drift import BIN
    lab = log.labelled(name)
    rows = [dict(r, **{target: t}) for r, t in zip(lab['inputs'], lab['truth'])
            if not any(isinstance(v, str) and v.startswith(BIN) for v in r.values())]
    df = pd.DataFrame(rows)
    return df[~df.astype(str).duplicated()].reset_index(drop=True) if len(df) else df
