"""How a regression is scored, in the target's units, with what the kinds of numbers share (`predictors.kinds.numbers`):
the card's figures and ranges from held-out answers (`regression_card`), and two versions on the same labelled rows
(`compare_numbers`: MAE, RMSE and R² of each and Wilcoxon's signed-rank test on the paired absolute errors, a paired
test with no normality assumed)."""
from __future__ import annotations


import numpy as np
import pandas as pd

from predictors.core.helpers import number_reference
from predictors.kinds.numbers import error_bins, metrics, paired_verdict_errors, wilcoxon

__all__ = ['regression_card', 'compare_numbers']


def regression_card(actual, predicted, transform=None, units=None, interval: float = 0.8,
                    where: str = 'held-out rows') -> dict:
    """The card's `metrics`, `regression` and held-out prediction reference of a regression, from its answers
    (`predicted`, in the target's units) to rows whose true numbers are `actual`; `transform`: the target's
    transform the model learnt through (its errors are binned in that space)."""
    from predictors.kinds.regression.predictor import TRANSFORMS
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


