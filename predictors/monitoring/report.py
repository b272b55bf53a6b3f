"""A drift report as HTML that stands alone (plots embedded as PNG), and as plain text.

The monitor app shows the same HTML that `python -m predictors drift --html` writes.
"""
from __future__ import annotations

import base64
import datetime as dt
import io

import numpy as np
import pandas as pd

from predictors.core.helpers import esc

__all__ = ['report_html', 'report_text', 'report_page', 'traffic_counts', 'VERDICT_COLOURS']

VERDICT_COLOURS = {'ok': '#1f9d55', 'watch': '#e0a100', 'drifted': '#d93025', 'not enough data': '#6b7280'}


def _pyplot():
    "matplotlib's pyplot drawing off screen (no display on a server)."
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=80, bbox_inches='tight')
    _pyplot().close(fig)
    return 'data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode()


def _hist(name: str, c: dict) -> str:
    fig, ax = _pyplot().subplots(figsize=(4.2, 2.4))
    if c['kind'] == 'continuous':
        e = c['bins']
        labels = [f'{e[i]:.3g}–{e[i + 1]:.3g}' for i in range(len(e) - 1)] or ['all']
    else:
        labels = [str(x).strip() for x in c['categories']]
    order = np.argsort(-(np.array(c['ref_props']) + np.array(c['cur_props'])))[:15] if c['kind'] != 'continuous' \
        else np.arange(len(labels))
    x = np.arange(len(order))
    ax.bar(x - 0.2, np.array(c['ref_props'])[order], 0.4, label='training', color='#9aa5b1')
    ax.bar(x + 0.2, np.array(c['cur_props'])[order], 0.4, label='recent', color=VERDICT_COLOURS[c['verdict']])
    ax.set_xticks(x, [labels[i] for i in order], rotation=60, ha='right', fontsize=7)
    ax.set_title(name, fontsize=9, loc='left'); ax.tick_params(axis='y', labelsize=7)
    # the legend above the plot, beside the title: never over the bars
    ax.legend(fontsize=7, ncols=2, loc='lower right', bbox_to_anchor=(1, 1), frameon=False, borderaxespad=0.2)
    return _png(fig)


TRAFFIC_BINS = (('minute', 60), ('5 minutes', 300), ('hour', 3600), ('day', 86400))


def traffic_counts(ts, most: int = 72) -> tuple[str, pd.Series]:
    """Predictions per time bin, the finest of `TRAFFIC_BINS` that needs at most `most` bins for the span of the
    timestamps `ts` (seconds): (the bin's name, counts indexed by each bin's start, empty bins included)."""
    t = pd.to_datetime(pd.Series(ts), unit='s', utc=True)
    span = (t.max() - t.min()).total_seconds()
    name, secs = next(((n, s) for n, s in TRAFFIC_BINS if span / s < most), TRAFFIC_BINS[-1])
    start = t.dt.floor(pd.Timedelta(seconds=secs))
    index = pd.date_range(start.min(), start.max(), freq=pd.Timedelta(seconds=secs))
    return name, start.value_counts().reindex(index, fill_value=0)


def _traffic(log_df: pd.DataFrame) -> tuple[str, str] | None:
    "The traffic chart (a PNG data URL) and the bin it counts by: each bar spans exactly its bin."
    if log_df is None or not len(log_df): return None
    name, counts = traffic_counts(log_df['ts'])
    fig, ax = _pyplot().subplots(figsize=(8, 2.2))
    width = pd.Timedelta(seconds=dict(TRAFFIC_BINS)[name]) * 0.9
    ax.bar(counts.index.tz_localize(None), counts.values, width=width, align='edge', color='#4a7bd0')
    ax.set_title(f'predictions per {name} (UTC)', fontsize=9); ax.tick_params(labelsize=7)
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.autofmt_xdate()
    return _png(fig), name


def _badge(v: str) -> str:
    return (f'<span class="drift-verdict" data-verdict="{esc(v)}" style="background:{VERDICT_COLOURS[v]};color:white;'
            f'padding:1px 8px;border-radius:9px;font-size:12px">{esc(v)}</span>')


def report_html(report: dict, log_df: pd.DataFrame | None = None, latest: int = 20, plots: bool = True) -> str:
    "The report's body: verdict, a table of columns, histograms, predictions per hour, latest predictions."
    s = report['settings']
    out = ['<div class="drift-report" style="font-family:system-ui,sans-serif">',
           f'<h3>Drift of {esc(report["model"])} (card {esc(report["version"])}): {_badge(report["verdict"])}</h3>',
           f'<p class="drift-summary">{report["rows"]} prediction(s) compared with the training data'
           + (f' (the newest of the {report["in_window"]:,} in this window)'
              if report.get('in_window') else '')
           + (f' — {esc(_traffic_words(report))}' if report.get('traffic') else '') + '; '
           f'{len(report["drifted_columns"])} drifted column(s)'
           + (f': {esc(", ".join(report["drifted_columns"]))}' if report['drifted_columns'] else '')
           + f' (dataset drifted at a share of {s["dataset_share"]:.0%}; PSI ≥ {s["psi_drift"]} drifted, '
           f'{s["psi_watch"]}–{s["psi_drift"]} watch, when the test is significant at p &lt; {s["alpha"]} '
           f'(Bonferroni-corrected over the columns); at least {s["min_rows"]} rows).</p>']
    rows = list(report['columns'].items())
    if report.get('predictions'): rows.append(('predicted class', report['predictions']))
    out.append('<style>.drift-table td, .drift-table th {padding: 3px 10px; text-align: left}'
               # a phone: tables scroll sideways in their own box, charts shrink to the screen
               '.drift-table, .drift-latest {display: block; overflow-x: auto; max-width: 100%}'
               '.drift-hist, .drift-per-hour {max-width: 100%; height: auto}</style>'
               '<table class="drift-table" style="border-collapse:collapse;font-size:13px">'
               '<tr><th>column</th><th>test</th><th>p-value</th><th>PSI</th><th>rows</th><th>notes</th>'
               '<th>verdict</th></tr>')
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
    out.append('</table>')
    if plots and report['rows']:
        imgs = ''.join(f'<img class="drift-hist" alt="{esc(n)}" src="{_hist(n, c)}">' for n, c in rows)
        out.append(f'<h4>Training vs recent</h4><div style="display:flex;flex-wrap:wrap;gap:6px">{imgs}</div>')
        chart = _traffic(log_df)
        if chart: out.append(f'<h4>Traffic</h4><img class="drift-per-hour" alt="Predictions per {chart[1]}" src="{chart[0]}">')
    if log_df is not None and len(log_df):
        last = log_df.tail(latest).iloc[::-1]
        trs = ''.join(
            f'<tr><td>{dt.datetime.fromtimestamp(r.ts, dt.timezone.utc):%Y-%m-%d %H:%M:%S}</td><td>{esc(r.version)}</td>'
            f'<td>{esc(r.source)}</td><td>{esc(r.prediction if r.prediction is not None else "error: " + str(r.error))}</td>'
            f'<td>{"" if r.probabilities is None else f"{max(r.probabilities.values()):.1%}"}</td></tr>'
            for r in last.itertuples())
        out.append('<h4>Latest predictions</h4><table class="drift-latest" style="font-size:12px">'
                   '<tr><th>time (UTC)</th><th>version</th><th>source</th><th>prediction</th><th>probability</th></tr>'
                   f'{trs}</table>')
    out.append('</div>')
    return ''.join(out)


def report_page(report: dict, log_df: pd.DataFrame | None = None) -> str:
    "A whole HTML document that stands alone (no external files)."
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>Drift report: {esc(report["model"])}</title>'
            f'</head><body style="max-width:1100px;margin:20px auto">{report_html(report, log_df)}</body></html>')


def _traffic_words(report: dict) -> str:
    "Which logged predictions a report looked at, and how many others it left out."
    from predictors.monitoring.drift import TRAFFIC
    left = report.get('traffic_left_out') or 0
    return TRAFFIC[report['traffic']] + (f'; {left} other logged prediction(s) left out' if left else '')


def report_text(report: dict) -> str:
    lines = [f'{report["model"]} (card {report["version"]}): {report["verdict"]} — {report["rows"]} rows, '
             f'{len(report["drifted_columns"])} drifted column(s)']
    if report.get('traffic'): lines.append(f'  of {_traffic_words(report)}')
    items = list(report['columns'].items()) + ([('predicted class', report['predictions'])] if report.get('predictions') else [])
    for name, c in items:
        p = '-' if c['p_value'] is None else f'{c["p_value"]:.3g}'
        extra = f'  unseen {c["unseen_share"]:.1%}' if c.get('unseen') else ''
        lines.append(f'  {name:<20} {c["verdict"]:<16} PSI {c["psi"]:7.3f}  p {p:<9} ({c["test"]}){extra}')
    return '\n'.join(lines)
