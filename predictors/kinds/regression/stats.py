"""How a regression is scored: errors in the target's units.

- held-out metrics: MAE, RMSE, R² (`metrics`);
- live performance of labelled answers (the true numbers people gave): MAE and RMSE against the card's,
  with a one-sided one-sample t-test of "the mean absolute error is at most the card's MAE" (a mean of
  n ≥ 30 absolute errors is close to normal; the p-value is in the report, so a few large misses on
  few labels are no alarm);
- two versions on the same labelled rows: MAE, RMSE and R² of each and the Wilcoxon signed-rank test on
  the paired absolute errors (a paired test: both saw the same rows; no normality assumed).
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd

from predictors.core.helpers import number_reference

__all__ = ['metrics', 'error_performance', 'wilcoxon', 'paired_verdict_errors', 'regression_card', 'compare_numbers',
           'shadow_numbers']


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


def regression_card(actual, predicted, transform=None, units=None, interval: float = 0.8,
                    where: str = 'held-out rows') -> dict:
    """The card's `metrics`, `regression` and held-out prediction reference of a regression, from its answers
    (`predicted`, in the target's units) to rows whose true numbers are `actual`; `transform`: the target's
    transform the model learnt through (its errors are binned in that space)."""
    from predictors.kinds.regression.predictor import TRANSFORMS, error_bins
    a = np.asarray(actual, float)
    to = TRANSFORMS[transform][0]
    with np.errstate(divide='ignore', invalid='ignore'):
        bins = error_bins(to(np.asarray(predicted, float)), to(a), interval)
    m = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in metrics(a, predicted).items()}
    whole = bool(len(a) and np.all(np.mod(a[np.isfinite(a)], 1) == 0))
    reg = dict(transform=transform, units=units, integer=whole, interval=interval,
               errors=dict(bins=bins, measured_on=where, space='the model\'s outputs' + (f' ({transform})' if transform else '')),
               floor=0.0 if len(a) and np.nanmin(a) >= 0 else None, min=float(np.nanmin(a)), max=float(np.nanmax(a)))
    return dict(metrics=dict(mae=m['mae'], rmse=m['rmse'], r2=m['r2'], valid_rows=m['rows']), regression=reg,
                valid_predictions=number_reference(np.asarray(predicted, float)[np.isfinite(predicted)]))


def compare_numbers(pred_a, pred_b, df, alpha: float = 0.05) -> dict:
    """Two versions on the labelled rows of `df` (the true number in `truth` or the target column): MAE, RMSE
    and R² of each, Wilcoxon's signed-rank test on the paired absolute errors; unscored rows left out and counted."""
    from predictors.kinds.tables.schema import schema_changes, truth_column
    ca, cb = pred_a.card, pred_b.card
    tcol = truth_column(ca, df.columns, 'the true number')
    df = df.reset_index(drop=True)
    ra, rb = pred_a.predict_frame(df), pred_b.predict_frame(df)
    truth = pd.to_numeric(df[tcol], errors='coerce').to_numpy(float)
    labelled = np.isfinite(truth)
    ok = labelled.copy(); ok[list(set(ra.errors) | set(rb.errors))] = False
    ma, mb = metrics(truth[ok], ra.values[ok]), metrics(truth[ok], rb.values[ok])
    test = wilcoxon(np.abs(truth[ok] - ra.values[ok]), np.abs(truth[ok] - rb.values[ok]))
    return dict(model=ca.get('name'), a=ca.get('version'), b=cb.get('version'), measure='error', rows=len(df),
                compared=int(ok.sum()), unlabelled=int((~labelled).sum()), unscored=int((labelled & ~ok).sum()),
                mae_a=ma['mae'], mae_b=mb['mae'], rmse_a=ma['rmse'], rmse_b=mb['rmse'], r2_a=ma['r2'], r2_b=mb['r2'],
                wilcoxon=test, alpha=alpha, units=(ca.get('regression') or {}).get('units'),
                verdict=paired_verdict_errors(test, alpha) if ok.any() else 'nothing to compare', **schema_changes(ca, cb))


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
