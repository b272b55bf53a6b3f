"""A drift report as data for the pages (`drift_data`: the report, the traffic per time bin, the latest predictions;
what `/v1/models/{name}/drift` answers), as HTML that stands alone (`report_page`, `drift --html`: the monitor's own,
`predictors.monitoring.pages`) and as plain text.
"""
from __future__ import annotations

import pandas as pd

from predictors.core.helpers import plain_json
from predictors.monitoring.pages import drift_html, drift_page, traffic_words

__all__ = ['report_html', 'report_text', 'report_page', 'traffic_counts', 'drift_data']

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


def drift_data(report: dict, log_df: pd.DataFrame | None = None, latest: int = 20) -> dict:
    """What the pages show of a drift report (`/v1/models/{name}/drift`): the report, the predictions per time bin of
    `log_df` (`traffic`: the bin's name and `[start (s), count]`, or None) and its `latest` rows, newest first."""
    out = dict(report=plain_json(report), traffic=None, latest=[])
    if log_df is not None and len(log_df):
        name, counts = traffic_counts(log_df['ts'])
        out['traffic'] = dict(bin=name, counts=[[t.timestamp(), int(n)] for t, n in counts.items()])
        out['latest'] = [dict(ts=float(r.ts), version=str(r.version), source=str(r.source),
                              prediction=None if r.prediction is None else str(r.prediction), error=r.error,
                              probability=None if r.probabilities is None else float(max(r.probabilities.values())))
                         for r in log_df.tail(latest).iloc[::-1].itertuples()]
    return out


def report_html(report: dict, log_df: pd.DataFrame | None = None, latest: int = 20, plots: bool = True) -> str:
    "The report's body (`predictors.monitoring.pages.drift_html`): verdict, columns, charts, the latest predictions."
    return drift_html(drift_data(report, log_df, latest), plots)


def report_page(report: dict, log_df: pd.DataFrame | None = None) -> str:
    "A whole HTML document that stands alone (no external files)."
    return drift_page(drift_data(report, log_df))


def report_text(report: dict) -> str:
    lines = [f'{report["model"]} (card {report["version"]}): {report["verdict"]} — {report["rows"]} rows, '
             f'{len(report["drifted_columns"])} drifted column(s)']
    if report.get('traffic'): lines.append(f'  of {traffic_words(report)}')
    items = list(report['columns'].items()) + ([('predicted class', report['predictions'])] if report.get('predictions') else [])
    for name, c in items:
        p = '-' if c['p_value'] is None else f'{c["p_value"]:.3g}'
        extra = f'  unseen {c["unseen_share"]:.1%}' if c.get('unseen') else ''
        lines.append(f'  {name:<20} {c["verdict"]:<16} PSI {c["psi"]:7.3f}  p {p:<9} ({c["test"]}){extra}')
    return '\n'.join(lines)
