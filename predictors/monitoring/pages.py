"""The operators' pages as HTML, made where they are shown (the monitor's kernel, `drift --html`, `performance --html`)
from the data the model server answers with (`/v1/models/{name}/live` and `/drift`): live performance, one renderer per
measure, and the drift report with its charts (inline SVG: no plotting library), the traffic and the latest
predictions. Plain Python: the monitor's thin kernel imports this module.
"""
from __future__ import annotations

import datetime as dt

from predictors.core.helpers import esc, figure, p_value as _p, pct as _pct

__all__ = ['performance_html', 'live_html', 'drift_html', 'drift_page', 'shadow_text', 'traffic_words', 'TRAFFIC', 'VERDICT_COLOURS',
           'PERFORMANCE_COLOURS']

# Which logged predictions a drift report looks at. Rows of a scored file (source `…:batch`) are
# kept apart from answers given one at a time (forms, image uploads, API calls): one file of 300
# identical rows says nothing about the people using the app, and must not swamp what they enter.
TRAFFIC = {'single': 'answers given one at a time: forms, images, API calls',
           'batch': 'rows of scored files: CSV uploads, CLI, API CSV', 'all': 'every logged prediction'}
VERDICT_COLOURS = {'ok': '#1f9d55', 'watch': '#e0a100', 'drifted': '#d93025', 'not enough data': '#6b7280'}


PERFORMANCE_COLOURS = {'ok': '#1f9d55', 'below the card': '#d93025', 'not enough labels': '#6b7280', 'no error on the card': '#6b7280',
                       'no accuracy on the card': '#6b7280', 'no F1 on the card': '#6b7280'}
_MEASURED = {'accuracy': 'accuracy', 'error': 'error', 'labels': 'F1', 'kept': 'feedback'}   # what each measure is called


def performance_html(r: dict) -> str:
    "The report as an HTML fragment, as its `measure` is read: its verdict, then its figures."
    colour = PERFORMANCE_COLOURS.get(r['verdict'], '#6b7280')
    measure = r.get('measure', 'accuracy')
    head = (f'<div class="app-performance" style="font-family:system-ui,sans-serif">'
            f'<h3 style="margin:6px 0">Live {_MEASURED[measure]} '
            f'<span class="app-perf-verdict" style="color:#fff;background:{colour};'
            f'padding:1px 8px;border-radius:10px;font-size:13px">{esc(r["verdict"])}</span></h3>')
    return _HTML[measure](r, head)


def _none_yet(r: dict, what: str, card_says: str, how: str) -> str:
    "The report's paragraph when nothing is labelled in the window yet: what the card says, and how to label."
    return (f'<p class="app-perf-summary"><b class="app-labelled">0</b> {what} of {esc(r["model"])} {esc(r["version"])} '
            f'in this window (the card says {card_says}): {how}, or <code>python -m predictors feedback NAME '
            f'labels.csv</code>.</p></div>')


def _accuracy_html(r: dict, head: str) -> str:
    "A classifier's live accuracy as HTML, after the verdict's heading `head`: per-class table, confusion, by day."
    s = r['settings']
    if not r['labelled']:
        return head + _none_yet(r, 'labelled answers', f'{_pct(r["card_accuracy"])} on held-out data',
                                'answer "Was this right?" under an answer in the apps')
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


def _days_table(days: list, counted: str, measure: str, value) -> str:
    "A table of the days (UTC): how many answers each counted and the measure on it (`value(day)`, HTML)."
    rows = ''.join(f'<tr><td>{esc(d["day"])}</td><td>{d["n"]}</td><td>{value(d)}</td></tr>' for d in days)
    return (f'<table class="app-table app-perf-days"><thead><tr><th>day (UTC)</th><th>{counted}</th><th>{measure}</th>'
            f'</tr></thead><tbody>{rows}</tbody></table>')


def _errors_html(r: dict, head: str) -> str:
    "A regression's live performance as HTML, after the verdict's heading `head`."
    s, u = r['settings'], r.get('units')
    if not r['labelled']:
        return head + _none_yet(r, 'answers with their real number', f'MAE {esc(figure(r["card_mae"], u))} on held-out data',
                                'type it under an answer in the app')
    return head + (f'<p class="app-perf-summary">Typical error <b class="app-live-mae">{esc(figure(r["mae"], u))}</b> '
                   f'(MAE; RMSE {esc(figure(r["rmse"]))}) on <b class="app-labelled">{r["labelled"]}</b> answer(s) of '
                   f'{esc(r["model"])} {esc(r["version"])} whose real number is known; the card says MAE '
                   f'{esc(figure(r["card_mae"], u))} on held-out data. One-sided t-test of the absolute errors p = '
                   f'{_p(r["p_value"])} (flagged below {s["alpha"]}; at least {s["min_labels"]} labels needed).</p>'
                   + _days_table(r['by_day'], 'labelled', 'MAE', lambda d: esc(figure(d['mae']))) + '</div>')


def _labels_html(r: dict, head: str) -> str:
    "A multi-label model's live performance as HTML, after the verdict's heading `head`."
    s = r['settings']
    if not r['labelled']:
        return head + _none_yet(r, 'labelled answers', f'F1 {_pct(r["card_f1"])} on held-out pictures',
                                'tick the right labels under an answer in the image app')
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




def _kept_html(r: dict, head: str) -> str:
    "A language model's live feedback as HTML: the share of judged continuations kept, by day."
    if not r['labelled']:
        return head + _none_yet(r, 'judged continuations', f'held-out perplexity {figure(r["card_perplexity"])}',
                                'answer "Keep this one" or "Not useful" under a continuation in the writer app')
    return head + (f'<p class="app-perf-summary">Kept <b class="app-live-kept">{_pct(r["kept_share"])}</b> of '
                   f'<b class="app-labelled">{r["labelled"]}</b> judged continuation(s) of {esc(r["model"])} '
                   f'{esc(r["version"])}' + (f' (<span class="app-feedback-rate">{_pct(r["labelled"] / r["answers"])}</span> '
                                             f'of its {r["answers"]} answers judged)' if r.get('answers') else '')
                   + f'; the card says held-out perplexity {figure(r["card_perplexity"])}.</p>'
                   + _days_table(r['by_day'], 'judged', 'kept', lambda d: _pct(d['kept'])) + '</div>')


_HTML = {'accuracy': _accuracy_html, 'error': _errors_html, 'labels': _labels_html, 'kept': _kept_html}   # one renderer per measure


def shadow_text(r: dict) -> str:
    "A shadow report as a line, as its `measure` is read."
    return _SHADOW_TEXT[r.get('measure', 'accuracy')](r, ', '.join(r['shadow_versions']) or '?')


def _shadow_errors(r: dict, v: str) -> str:
    num = figure
    out = f'shadow {v}: {num(r["mean_difference"])} away from the answers shown on average, over {r["answers"]} answer(s)'
    if r['labelled']:
        out += (f'; on {r["labelled"]} labelled: MAE shown {num(r["mae_shown"])}, shadow {num(r["mae_shadow"])} '
                f'(Wilcoxon p = {_p(r["wilcoxon"]["p"])}: {r["verdict"]})')
    return out


def _shadow_accuracy(r: dict, v: str) -> str:
    out = (f'shadow {v}: agrees with the answers shown on {_pct(r["agreement"])} of {r["answers"]} answer(s)')
    if r['labelled']:
        out += (f'; on {r["labelled"]} labelled: shown {_pct(r["accuracy_shown"])}, shadow {_pct(r["accuracy_shadow"])} '
                f'(McNemar p = {_p(r["mcnemar"]["p"])}: {r["verdict"]})')
    return out


def _shadow_kept(r: dict, v: str) -> str:
    return (f'shadow {v}: starts with the same word as the continuation shown on {_pct(r["agreement"])} of '
            f'{r["answers"]} answer(s) (both drawn at random: below 100 % even for the same model)')


_SHADOW_TEXT = {'accuracy': _shadow_accuracy, 'error': _shadow_errors, 'kept': _shadow_kept}


def live_html(data: dict) -> str:
    "`/v1/models/{name}/live`'s answer as the monitor shows it: the live performance, then a line on the shadow."
    html = performance_html(data['report'])
    if data.get('shadow'):
        html += f'<div class="app-msg app-ok"><span class="app-shadow">{esc(shadow_text(data["shadow"]))}</span></div>'
    return html


# ---- drift ----------------------------------------------------------------------------------------------------------
def _badge(v: str) -> str:
    return (f'<span class="drift-verdict" data-verdict="{esc(v)}" style="background:{VERDICT_COLOURS[v]};color:white;'
            f'padding:1px 8px;border-radius:9px;font-size:12px">{esc(v)}</span>')


def _bars(cls: str, title: str, labels: list, series: list, width: int = 340, height: int = 170) -> str:
    """A bar chart as inline SVG: per label one bar of each series `(name, values, colour)`, the largest value at the
    top; each bar says its label and value when pointed at. Scales to its container (`viewBox`)."""
    top, bottom, left = 20, 56, 8
    w, h = width - left - 8, height - top - bottom
    peak = max([v for _, vals, _ in series for v in vals] + [1e-12])
    slot = w / max(1, len(labels))
    bar = slot * 0.8 / max(1, len(series))
    out = [f'<text x="{left}" y="13" font-size="11" font-weight="600">{esc(title)}</text>']
    for i, label in enumerate(labels):
        x = left + i * slot + slot * 0.1
        for j, (name, vals, colour) in enumerate(series):
            bh = h * max(0.0, vals[i]) / peak
            out.append(f'<rect x="{x + j * bar:.1f}" y="{top + h - bh:.1f}" width="{bar:.1f}" height="{bh:.1f}" '
                       f'fill="{colour}"><title>{esc(label)}: {esc(name)} {vals[i]:.3g}</title></rect>')
        if len(labels) <= 40 or i % max(1, len(labels) // 20) == 0:
            lx, ly = x + slot * 0.4, top + h + 8
            out.append(f'<text x="{lx:.1f}" y="{ly}" font-size="8" text-anchor="end" '
                       f'transform="rotate(-60 {lx:.1f} {ly})">{esc(str(label)[:18])}</text>')
    keys = ''.join(f'<rect x="{width - 150 + k * 70}" y="4" width="8" height="8" fill="{c}"/>'
                   f'<text x="{width - 139 + k * 70}" y="12" font-size="9">{esc(n)}</text>'
                   for k, (n, _, c) in enumerate(series) if len(series) > 1)
    return (f'<svg class="{cls}" role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" style="font-family:system-ui,sans-serif">'
            f'{"".join(out)}{keys}</svg>')


def _hist(name: str, c: dict) -> str:
    "A column's training and recent distributions, side by side (the most common 15 categories)."
    if c['kind'] == 'continuous':
        e = c['bins']
        labels, order = [f'{e[i]:.3g}–{e[i + 1]:.3g}' for i in range(len(e) - 1)] or ['all'], None
    else:
        labels = [str(x).strip() for x in c['categories']]
        order = sorted(range(len(labels)), key=lambda i: -(c['ref_props'][i] + c['cur_props'][i]))[:15]
    order = order if order is not None else list(range(len(labels)))
    pick = lambda v: [v[i] for i in order]
    return _bars('drift-hist', name, pick(labels), [('training', pick(c['ref_props']), '#9aa5b1'),
                                                    ('recent', pick(c['cur_props']), VERDICT_COLOURS[c['verdict']])])


def _traffic(t: dict) -> str:
    "The predictions per time bin (`traffic`: its bin's name and `[start (s), count]`), as a bar chart."
    times = [dt.datetime.fromtimestamp(s, dt.timezone.utc) for s, _ in t['counts']]
    fmt = '%m-%d' if t['bin'] == 'day' else '%m-%d %H:%M'
    return _bars('drift-per-hour', f'predictions per {t["bin"]} (UTC)', [x.strftime(fmt) for x in times],
                 [('predictions', [n for _, n in t['counts']], '#4a7bd0')], width=640, height=160)


def traffic_words(report: dict) -> str:
    "Which logged predictions a report looked at, and how many others it left out."
    left = report.get('traffic_left_out') or 0
    return TRAFFIC[report['traffic']] + (f'; {left} other logged prediction(s) left out' if left else '')


def _summary(report: dict) -> str:
    s = report['settings']
    return (f'<p class="drift-summary">{report["rows"]} prediction(s) compared with the training data'
            + (f' (the newest of the {report["in_window"]:,} in this window)' if report.get('in_window') else '')
            + (f' — {esc(traffic_words(report))}' if report.get('traffic') else '') + '; '
            f'{len(report["drifted_columns"])} drifted column(s)'
            + (f': {esc(", ".join(report["drifted_columns"]))}' if report['drifted_columns'] else '')
            + f' (dataset drifted at a share of {s["dataset_share"]:.0%}; PSI ≥ {s["psi_drift"]} drifted, '
            f'{s["psi_watch"]}–{s["psi_drift"]} watch, when the test is significant at p &lt; {s["alpha"]} '
            f'(Bonferroni-corrected over the columns); at least {s["min_rows"]} rows).</p>')


def _columns_table(rows: list) -> str:
    out = ['<table class="drift-table" style="border-collapse:collapse;font-size:13px">'
           '<tr><th>column</th><th>test</th><th>p-value</th><th>PSI</th><th>rows</th><th>notes</th><th>verdict</th></tr>']
    for name, c in rows:
        note = ''
        if c.get('unseen'):
            note = f'{c["unseen_share"]:.1%} never seen in training: ' + esc(', '.join(
                f'{k.strip()} ({v})' for k, v in list(c['unseen'].items())[:5]))
        elif c['kind'] == 'continuous' and c.get('cur_mean') is not None:
            note = f'mean {c["ref_mean"]:.4g} → {c["cur_mean"]:.4g}'
        p = '–' if c['p_value'] is None else '< 0.0001' if c['p_value'] < 1e-4 else f'{c["p_value"]:.3g}'
        out.append(f'<tr class="drift-row" data-column="{esc(name)}" style="border-top:1px solid #dde">'
                   f'<td><b>{esc(name)}</b></td><td>{esc(c["test"])}</td><td>{esc(p)}</td><td>{c["psi"]:.3f}</td>'
                   f'<td>{c["rows"]}</td><td>{note}</td><td>{_badge(c["verdict"])}</td></tr>')
    return ''.join(out) + '</table>'


def _probability(p) -> str:
    return '' if p is None else f'{p:.1%}'


def _latest(latest: list) -> str:
    trs = ''.join(
        f'<tr><td>{dt.datetime.fromtimestamp(r["ts"], dt.timezone.utc):%Y-%m-%d %H:%M:%S}</td><td>{esc(r["version"])}</td>'
        f'<td>{esc(r["source"])}</td><td>{esc(r["prediction"] if r["prediction"] is not None else "error: " + str(r["error"]))}</td>'
        f'<td>{_probability(r["probability"])}</td></tr>'
        for r in latest)
    return ('<h4>Latest predictions</h4><table class="drift-latest" style="font-size:12px">'
            '<tr><th>time (UTC)</th><th>version</th><th>source</th><th>prediction</th><th>probability</th></tr>'
            f'{trs}</table>')


def drift_html(data: dict, plots: bool = True) -> str:
    """`/v1/models/{name}/drift`'s answer (`report`, `traffic`, `latest`) as the monitor shows it: the verdict, a table
    of the columns, the charts of each (training against recent) and of the traffic, the latest predictions."""
    report = data['report']
    rows = list(report['columns'].items())
    if report.get('predictions'): rows.append(('predicted class', report['predictions']))
    out = ['<div class="drift-report" style="font-family:system-ui,sans-serif">',
           f'<h3>Drift of {esc(report["model"])} (card {esc(report["version"])}): {_badge(report["verdict"])}</h3>',
           _summary(report),
           # a phone: tables scroll sideways in their own box, charts shrink to the screen
           '<style>.drift-table td, .drift-table th {padding: 3px 10px; text-align: left}'
           '.drift-table, .drift-latest {display: block; overflow-x: auto; max-width: 100%}'
           '.drift-hist, .drift-per-hour {max-width: 100%; height: auto}</style>', _columns_table(rows)]
    if plots and report['rows']:
        out.append(f'<h4>Training vs recent</h4><div style="display:flex;flex-wrap:wrap;gap:6px">'
                   f'{"".join(_hist(n, c) for n, c in rows)}</div>')
        if data.get('traffic'): out.append(f'<h4>Traffic</h4>{_traffic(data["traffic"])}')
    if data.get('latest'): out.append(_latest(data['latest']))
    return ''.join(out) + '</div>'


def drift_page(data: dict) -> str:
    "A whole HTML document that stands alone (no external files)."
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>Drift report: {esc(data["report"]["model"])}'
            f'</title></head><body style="max-width:1100px;margin:20px auto">{drift_html(data)}</body></html>')
