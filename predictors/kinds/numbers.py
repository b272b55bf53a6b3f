"""What the kinds whose answers are numbers share (a regression's value, a recommender's rating): held-out errors
(MAE, RMSE, R²), the range held-out answers of a size fell in, live error of the labelled answers against the card's
(a one-sided t-test of "the mean absolute error is at most the card's MAE": a mean of n ≥ 30 absolute errors is close
to normal, and the p-value is in the report, so a few large misses on few labels are no alarm), and two sets of
answers compared on the same rows (Wilcoxon's signed-rank test on the paired absolute errors), from the log.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from predictors.core.csvio import spreadsheet_safe, whole_numbers
from predictors.core.results import ERROR_PREFIX, Prediction

__all__ = ['NumberBatch', 'metrics', 'error_performance', 'wilcoxon', 'paired_verdict_errors', 'shadow_numbers', 'error_bins',
           'value_range']


@dataclass
class NumberBatch:
    "Predictions for many rows: `values` (n), their ranges `low`/`high` (n, or None), errors and warnings by row."
    values: np.ndarray
    low: np.ndarray | None
    high: np.ndarray | None
    errors: dict
    warnings: dict
    seconds: float = 0.0

    @property
    def probs(self) -> np.ndarray:
        "The values as an n × 1 array (what an explainer scores)."
        return self.values[:, None]

    def __len__(self): return len(self.values)

    def __getitem__(self, i) -> Prediction:
        if i in self.errors: return Prediction(error=self.errors[i], warnings=self.warnings.get(i, []))
        rng = None if self.low is None else [float(self.low[i]), float(self.high[i])]
        return Prediction(float(self.values[i]), {}, self.warnings.get(i, []), range=rng)

    def __iter__(self): return (self[i] for i in range(len(self)))

    def scored(self, df: pd.DataFrame) -> pd.DataFrame:
        "`df` (formulas neutralised: `spreadsheet_safe`) with `prediction`, `low` and `high` (the range) and `problem`."
        out = spreadsheet_safe(whole_numbers(df))
        bad = list(self.errors)
        for col, v in (('prediction', self.values), ('low', self.low), ('high', self.high)):
            col_v = np.full(len(df), np.nan) if v is None else np.round(v.astype(float), 6)
            col_v[bad] = np.nan
            out[col] = col_v
        problem = np.full(len(df), '', dtype=object)
        for i, w in self.warnings.items(): problem[i] = '; '.join(w)
        for i, e in self.errors.items(): problem[i] = ERROR_PREFIX + e
        out['problem'] = problem
        return out


def metrics(actual, predicted) -> dict:
    "MAE, RMSE and R² of `predicted` against `actual` (rows where either is missing left out)."
    a, p = np.asarray(actual, float), np.asarray(predicted, float)
    ok = np.isfinite(a) & np.isfinite(p)
    a, p = a[ok], p[ok]
    if not len(a): return dict(mae=None, rmse=None, r2=None, rows=0)
    e = a - p
    ss = float(((a - a.mean()) ** 2).sum())
    return dict(mae=float(np.abs(e).mean()), rmse=float(np.sqrt((e ** 2).mean())),
                r2=float(1 - (e ** 2).sum() / ss) if ss > 0 else None, rows=int(len(a)))


def error_performance(labelled: pd.DataFrame, card: dict, settings) -> dict:
    """Live MAE and RMSE of the labelled answers (`PredictionLog.labelled`: `prediction`, `truth`, `ts`) against
    the card's held-out MAE, with the verdict *below the card* when the errors are significantly larger."""
    from scipy.stats import ttest_1samp
    pred = pd.to_numeric(labelled['prediction'], errors='coerce').to_numpy(float)
    truth = pd.to_numeric(labelled['truth'], errors='coerce').to_numpy(float)
    ok = np.isfinite(pred) & np.isfinite(truth)
    m, n = metrics(truth[ok], pred[ok]), int(ok.sum())
    card_m = card.get('metrics') or {}
    card_mae = card_m.get('mae')
    p = None
    if n >= 2 and card_mae is not None:
        err = np.abs(truth[ok] - pred[ok])
        if np.allclose(err, err[0]): p = 1.0 if err[0] <= card_mae else 0.0      # no spread: the test is undefined
        else: p = float(ttest_1samp(err, float(card_mae), alternative='greater').pvalue)
    if n < settings.min_labels: verdict = 'not enough labels'
    elif card_mae is None: verdict = 'no error on the card'
    else: verdict = 'below the card' if p is not None and p < settings.alpha else 'ok'
    days = pd.to_datetime(labelled['ts'][ok], unit='s', utc=True).dt.strftime('%Y-%m-%d') if n else pd.Series(dtype=str)
    frame = pd.DataFrame(dict(day=days.to_numpy(), err=np.abs(truth[ok] - pred[ok]))) if n else None
    by_day = [dict(day=d, n=int(len(g)), mae=float(g['err'].mean())) for d, g in frame.groupby('day')] if n else []
    return dict(model=card.get('name'), version=card.get('version'), measure='error', labelled=n, mae=m['mae'],
                rmse=m['rmse'], card_mae=card_mae, card_rmse=card_m.get('rmse'), p_value=p, verdict=verdict,
                settings=asdict(settings), units=(card.get('regression') or {}).get('units'), by_day=by_day)


def wilcoxon(err_a, err_b) -> dict:
    """Wilcoxon signed-rank test on paired absolute errors: p (two-sided), and one-sided p that B's errors are
    larger (`p_b_worse`) or smaller (`p_b_better`); rows with equal errors carry no information and are left out."""
    from scipy.stats import wilcoxon as test
    d = np.asarray(err_b, float) - np.asarray(err_a, float)
    d = d[np.isfinite(d) & (d != 0)]
    if not len(d): return dict(rows=0, p=1.0, p_b_worse=1.0, p_b_better=1.0)
    return dict(rows=int(len(d)), p=float(test(d).pvalue), p_b_worse=float(test(d, alternative='greater').pvalue),
                p_b_better=float(test(d, alternative='less').pvalue))


def paired_verdict_errors(test: dict, alpha: float) -> str:
    "'B is worse', 'B is better' or 'no significant difference' from a `wilcoxon` test of absolute errors."
    if test['p_b_worse'] < alpha: return 'B is worse'
    if test['p_b_better'] < alpha: return 'B is better'
    return 'no significant difference'


def error_bins(pred_t: np.ndarray, actual_t: np.ndarray, interval: float = 0.8, bins: int = 5) -> list[dict]:
    """Held-out errors (actual minus predicted, both in the model's output space) summarised per bin of the
    predicted value: `[{upto, low, high, rows}]`, `low`/`high` the quantiles that hold `interval` of them."""
    pred_t, err = np.asarray(pred_t, float), np.asarray(actual_t, float) - np.asarray(pred_t, float)
    ok = np.isfinite(pred_t) & np.isfinite(err)
    pred_t, err = pred_t[ok], err[ok]
    edges = np.unique(np.quantile(pred_t, np.linspace(0, 1, bins + 1)[1:-1])) if len(pred_t) >= 10 * bins else []
    which = np.searchsorted(edges, pred_t, side='right')
    q = ((1 - interval) / 2, 1 - (1 - interval) / 2)
    out = []
    for b in range(len(edges) + 1):
        e = err[which == b]
        if not len(e): continue
        lo, hi = np.quantile(e, q)
        out.append(dict(upto=float(edges[b]) if b < len(edges) else None, low=float(lo), high=float(hi), rows=int(len(e))))
    return out


def value_range(pred_t: np.ndarray, bins: list[dict], back, floor: float | None = None):
    "The range of each prediction (model space `pred_t`) from `error_bins`, in the target's units; None without bins."
    if not bins: return None, None
    uptos = np.array([b['upto'] if b['upto'] is not None else np.inf for b in bins])
    idx = np.minimum(np.searchsorted(uptos, pred_t, side='left'), len(bins) - 1)
    low = back(pred_t + np.array([b['low'] for b in bins])[idx])
    high = back(pred_t + np.array([b['high'] for b in bins])[idx])
    if floor is not None: low = np.maximum(low, floor)
    return low, high


def shadow_numbers(pairs: pd.DataFrame, alpha: float = 0.05) -> dict:
    """From `PredictionLog.shadow_pairs`: how far the shadow's numbers are from those shown and, on the labelled
    answers, the MAE of both with Wilcoxon's test (A: shown, B: shadow)."""
    num = lambda c: pd.to_numeric(pairs[c], errors='coerce').to_numpy(float)
    shown, shadow, truth = num('prediction'), num('shadow_prediction'), num('truth')
    both = np.isfinite(shown) & np.isfinite(shadow)
    lab = both & np.isfinite(truth)
    ea, eb = np.abs(truth[lab] - shown[lab]), np.abs(truth[lab] - shadow[lab])
    test = wilcoxon(ea, eb)
    return dict(measure='error', answers=len(pairs), labelled=int(lab.sum()),
                mean_difference=float(np.abs(shown[both] - shadow[both]).mean()) if both.any() else None,
                mae_shown=float(ea.mean()) if lab.any() else None, mae_shadow=float(eb.mean()) if lab.any() else None,
                wilcoxon=test, verdict=paired_verdict_errors(test, alpha).replace('B', 'the shadow') if lab.any()
                else 'no labels yet', versions=sorted(set(pairs['version'])),
                shadow_versions=sorted(set(pairs['shadow_version'])))
