"""Drift of what a model sees now against its training data, from the reference statistics in its card.

Numeric columns: Kolmogorov–Smirnov test and Population Stability Index (PSI) on the card's
quantile bins. Categorical columns: chi-square test and PSI, values never seen in training
counted apart. The predicted-class distribution is compared with the validation-set
predictions. A change must be both significant and material: a column is *drifted* when its
test rejects "same distribution" (p < `alpha`, Bonferroni-corrected over the columns tested,
so checking 14 columns does not flag one by chance every other time) and PSI ≥ `psi_drift`;
*watch* when significant and `psi_watch` ≤ PSI < `psi_drift`; *ok* otherwise; and *not
enough data* below `min_rows` rows. The dataset is drifted when the share of drifted columns
reaches `dataset_share`.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from predictors.monitoring.pages import TRAFFIC
from predictors.kinds import kind

__all__ = ['DriftSettings', 'drift_report', 'psi', 'report_from_log', 'stat_reference', 'TRAFFIC', 'DRIFT_ROWS', 'coarsen', 'LOGGED_INPUTS']

_EPS = 1e-4
BIN = 'bin:'                   # a number logged as its reference bin only (`coarsen`)
LOGGED_INPUTS = ('raw', 'bins')


@dataclass(frozen=True)
class DriftSettings:
    psi_drift: float = 0.2       # PSI at or above: drifted (common practice)
    psi_watch: float = 0.1       # PSI at or above: watch
    alpha: float = 0.05          # significance of the KS / chi-square tests
    min_rows: int = 100          # fewer rows: "not enough data"
    dataset_share: float = 0.5   # share of drifted columns at which the dataset is drifted


def psi(ref_props, cur_props) -> float:
    "Population Stability Index of two distributions over the same bins."
    r = np.clip(np.asarray(ref_props, float), _EPS, None)
    c = np.clip(np.asarray(cur_props, float), _EPS, None)
    return float(np.sum((c - r) * np.log(c / r)))


def _verdict(p_value, score, n, s: DriftSettings, m: int = 1) -> str:
    "Drifted or watch only when the change is both material (PSI) and significant (Bonferroni over m tests)."
    if n < s.min_rows: return 'not enough data'
    if p_value is not None and p_value >= s.alpha / max(1, m): return 'ok'
    if score >= s.psi_drift: return 'drifted'
    if score >= s.psi_watch: return 'watch'
    return 'ok'


def _binned(ref: dict, values) -> dict:
    "A numeric column logged as bins only (`coarsen`): chi-square and PSI on the bin counts."
    from scipy.stats import chisquare
    labels = pd.Series(values).dropna().astype(str)
    idx = pd.to_numeric(labels[labels.str.startswith(BIN)].str[len(BIN):], errors='coerce').dropna().astype(int)
    k = len(ref['props'])
    cur = np.bincount(idx.clip(0, k - 1), minlength=k)[:k].astype(float)
    n = cur.sum()
    cur_props = cur / max(1, n)
    score = psi(ref['props'], cur_props) if n else 0.0
    ref_p = np.asarray(ref['props'], float)
    keep = ref_p > 0
    p = float(chisquare(cur[keep], ref_p[keep] / ref_p[keep].sum() * n).pvalue) if n and keep.sum() > 1 else None
    return dict(kind='continuous', test='chi-square on bins (raw values not logged)', rows=int(n), psi=round(score, 4),
                p_value=None if p is None else float(f'{p:.4g}'), ref_mean=None, cur_mean=None,
                bins=[float(e) for e in ref['edges']], ref_props=ref['props'],
                cur_props=[round(float(x), 6) for x in cur_props])


def _is_binned(values) -> bool:
    s = pd.Series(values).dropna()
    return bool(len(s)) and s.map(lambda x: isinstance(x, str) and x.startswith(BIN)).all()


def _category(x) -> str:
    "A categorical value as drift counts it (None and NaN as 'nan')."
    return 'nan' if x is None or (isinstance(x, float) and math.isnan(x)) else str(x)


def _as_trained(ref: dict):
    """value -> the training category it is, matched as the predictor matches it (exactly, else without
    surrounding spaces: ' Private' in training, 'Private' typed), or the value itself if unseen."""
    known, loose = ref['props'], {k.strip(): k for k in ref['props']}

    def as_trained(x) -> str:
        s = _category(x)
        return s if s in known else loose.get(s.strip(), s)
    return as_trained


def coarsen(card: dict, rows: list[dict]) -> list[dict]:
    """Inputs reduced to what drift needs, for models whose inputs are personal: a number becomes its
    reference bin (`bin:3`), a category itself if it was seen in training else '(unseen)', and every
    other field (a file name, an id) is dropped."""
    refs = kind(card.get('task')).drift_references(card)
    # per column: the inner bin edges of a number, or the category matcher
    how_to = {c: np.asarray(ref['edges'], float)[1:-1] if how == 'continuous' else _as_trained(ref)
              for c, (ref, how) in refs.items() if how != 'words'}
    out = []
    for r in rows:
        d = {}
        for c, (ref, how) in refs.items():
            v = r.get(c)
            if how == 'words':                    # counts of the training's most frequent words only: no text
                d[c] = v if isinstance(v, dict) else None
                continue
            if how == 'continuous':
                try:
                    x = float(v)
                except (TypeError, ValueError):
                    x = math.nan
                d[c] = f'{BIN}{int(np.searchsorted(how_to[c], x, side="right"))}' if math.isfinite(x) else None
            else:
                s = how_to[c](v)
                d[c] = None if s == 'nan' else s if s in ref['props'] else '(unseen)'
        out.append(d)
    return out


def _numeric(ref: dict, values) -> dict:
    from scipy.stats import ks_2samp
    if _is_binned(values): return _binned(ref, values)
    v = pd.to_numeric(pd.Series(values), errors='coerce').to_numpy(float)
    v = v[np.isfinite(v)]
    edges = np.asarray(ref['edges'], float)
    inner = edges[1:-1]
    cur = np.bincount(np.searchsorted(inner, v, side='right'), minlength=len(ref['props']))[:len(ref['props'])]
    cur_props = cur / max(1, len(v))
    score = psi(ref['props'], cur_props) if len(v) else 0.0
    p = float(ks_2samp(ref['sample'], v).pvalue) if len(v) and len(ref.get('sample', [])) else None
    return dict(kind='continuous', test='Kolmogorov–Smirnov', rows=int(len(v)), psi=round(score, 4),
                p_value=None if p is None else float(f'{p:.4g}'),
                ref_mean=float(np.mean(ref['sample'])) if ref.get('sample') else None,
                cur_mean=float(v.mean()) if len(v) else None,
                bins=[float(e) for e in edges], ref_props=ref['props'], cur_props=[round(float(x), 6) for x in cur_props])


def _categorical(ref: dict, values) -> dict:
    from scipy.stats import chisquare
    vals = pd.Series(values).map(_as_trained(ref))
    n = len(vals)
    known = list(ref['props'])
    counts = vals.value_counts()
    unseen = {k: int(c) for k, c in counts.items() if k not in ref['props']}
    cur = np.array([counts.get(k, 0) for k in known] + [sum(unseen.values())], float)
    ref_p = np.array([ref['props'][k] for k in known] + [0.0])
    # categories too rare to be tested at this sample size (expected count < 5) are pooled, as the
    # chi-square test needs and so PSI is not inflated by sparse bins; unseen values stay apart
    rare = ref_p[:-1] * n < 5
    pool = lambda a: np.append(a[:-1][~rare], a[:-1][rare].sum()) if rare.any() else a[:-1]
    ref_m, cur_m = pool(ref_p), pool(cur)
    score = psi(np.append(ref_m, 0.0), np.append(cur_m, cur[-1]) / max(1, n)) if n else 0.0
    p = None
    if n and len(ref_m) > 1 and cur_m.sum() > 0:
        keep = ref_m > 0
        exp = ref_m[keep] / ref_m[keep].sum() * cur_m[keep].sum()
        p = float(chisquare(cur_m[keep], exp).pvalue)
    if cur[-1] > 0: p = 0.0   # values never seen in training cannot come from the training distribution
    return dict(kind='categorical', test='chi-square', rows=int(n), psi=round(score, 4),
                p_value=None if p is None else float(f'{p:.4g}'),
                unseen=dict(sorted(unseen.items(), key=lambda kv: -kv[1])[:20]),
                unseen_share=round(sum(unseen.values()) / max(1, n), 4),
                categories=known + ['(unseen)'], ref_props=[float(x) for x in ref_p],
                cur_props=[round(float(x), 6) for x in cur / max(1, n)])


def _word_mix(ref: dict, values) -> dict:
    """How often messages use each of the training's most frequent words (each logged message's counts, `words`),
    against the training messages: PSI over the words' shares. No test: the words of one message are not independent
    draws, so a chi-square would call any change significant; the PSI thresholds decide."""
    counts, n = Counter(), 0
    for v in values:
        if isinstance(v, dict):
            n += 1
            counts.update({str(k): int(c) for k, c in v.items() if isinstance(c, (int, float))})
    known = list(ref['props'])
    total = sum(counts.values())
    cur = np.array([counts.get(k, 0) for k in known], float) / max(1, total)
    ref_p = np.array([ref['props'][k] for k in known], float)
    score = psi(ref_p, cur) if total else 0.0
    return dict(kind='categorical', test='PSI of the most frequent training words (per word used)', rows=int(n),
                psi=round(score, 4), p_value=None, unseen={}, unseen_share=0.0, categories=known,
                ref_props=[float(x) for x in ref_p], cur_props=[round(float(x), 6) for x in cur])


def stat_reference(values, bins=10) -> dict:
    "Reference bins and sample for an image statistic kept as a plain list in the card."
    v = np.asarray(values, float)
    edges = np.unique(np.quantile(v, np.linspace(0, 1, bins + 1)))
    counts = np.histogram(v, bins=edges)[0] if len(edges) > 1 else np.array([len(v)])
    return dict(edges=list(edges), props=list(counts / len(v)), sample=list(v))


def drift_report(card: dict, inputs: pd.DataFrame, predictions=None, settings: DriftSettings = DriftSettings()) -> dict:
    """Drift of `inputs` (one row per prediction; for images the logged image statistics) and of
    the predicted classes against the card's reference statistics."""
    test = {'continuous': _numeric, 'categorical': _categorical, 'words': _word_mix}
    columns = {c: test[how](r, inputs[c])
               for c, (r, how) in kind(card.get('task')).drift_references(card).items() if c in inputs.columns}
    pred = None
    answers = kind(card.get('task')).prediction_reference(card)
    if predictions is not None and answers is not None:
        ref_answers, how = answers
        pr = pd.Series(list(predictions)).dropna()
        if how == 'continuous':
            pred = _numeric(ref_answers, pd.to_numeric(pr, errors='coerce'))
            pred['test'] = 'KS (predicted values)'
        else:
            pred = _categorical(ref_answers, pr)
            pred['test'] = 'chi-square (predicted classes)'
    for c in columns.values(): c['verdict'] = _verdict(c['p_value'], c['psi'], c['rows'], settings, len(columns))
    if pred: pred['verdict'] = _verdict(pred['p_value'], pred['psi'], pred['rows'], settings)
    n = int(len(inputs))
    judged = [c for c in columns.values() if c['verdict'] != 'not enough data']
    drifted = [k for k, c in columns.items() if c['verdict'] == 'drifted']
    share = len(drifted) / len(judged) if judged else 0.0
    if n < settings.min_rows or not judged: verdict = 'not enough data'
    else: verdict = 'drifted' if share >= settings.dataset_share else ('watch' if drifted or any(
        c['verdict'] == 'watch' for c in judged) or (pred and pred['verdict'] in ('drifted', 'watch')) else 'ok')
    return dict(model=card.get('name'), version=card.get('version'), task=card.get('task'), rows=n,
                settings=asdict(settings), columns=columns, predictions=pred, drifted_columns=drifted,
                drift_share=round(share, 4), verdict=verdict)


DRIFT_ROWS = 20_000   # the newest rows of a window a drift report reads: its cost does not grow with the log


def report_from_log(log, card: dict, since: float | None = None, until: float | None = None,
                    settings: DriftSettings = DriftSettings(), traffic: str = 'single',
                    most: int = DRIFT_ROWS) -> tuple[dict, pd.DataFrame]:
    """Drift of the predictions logged for the card's model (all its versions) in a time window, of one
    kind of traffic (`TRAFFIC`), from its newest `most` rows; the report says how many rows the window
    holds when it has more (`in_window`, else None) and how many of the other kinds it left out."""
    if traffic not in TRAFFIC: raise ValueError(f'traffic must be one of {", ".join(TRAFFIC)}, not {traffic!r}')
    batch = None if traffic == 'all' else traffic == 'batch'
    window = dict(model=card.get('name'), since=since, until=until)
    df = log.read(**window, batch=batch, limit=most)
    in_window = log.count(**window, batch=batch) if len(df) >= most else None     # (None: every row was read)
    ok = df[df['error'].isna() | kind(card.get('task')).drift_refused] if len(df) else df
    inputs = pd.DataFrame(list(ok['inputs'])) if len(ok) else pd.DataFrame()
    report = drift_report(card, inputs, ok['prediction'] if len(ok) else [], settings)
    report.update(traffic=traffic, in_window=in_window,
                  traffic_left_out=0 if batch is None else int(log.count(**window, batch=not batch)))
    return report, df
