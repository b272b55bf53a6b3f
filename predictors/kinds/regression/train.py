"""Training a tabular regression (called by `train_tabular` when the target is a number).

fastai's tabular recipe (FillMissing, Categorify, Normalize, `RegressionBlock`, MSE loss, a `y_range` a
little wider than the training targets), optionally on a transform of the target (`log`, `log1p`: counts
and prices, whose errors grow with their size). The card gets the held-out MAE, RMSE and R², the held-out
errors by size of answer (the range shown beside each answer) and, with `baseline=True`, the same figures
of scikit-learn's `HistGradientBoostingRegressor` trained on the same rows, so the card says whether the
network earns its place.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from predictors.core.store import ModelError
from predictors.kinds.regression.predictor import TRANSFORMS
from predictors.kinds.regression.stats import regression_card
from predictors.kinds.tables.schema import reference_stats, tabular_schema
from predictors.kinds.training import parse_templates, seed_everything

__all__ = ['train_regression', 'gbt_baseline', 'numeric_target']

_FLOOR = {'log': 0.0, 'log1p': -1.0}     # a transformed target must be above this


def numeric_target(df: pd.DataFrame, target: str, transform: str | None) -> np.ndarray:
    "The target as numbers, or `ModelError` naming a value that is not one (or that the transform cannot take)."
    if transform not in TRANSFORMS: raise ModelError(f'--target-transform must be log or log1p, not {transform!r}.')
    y = pd.to_numeric(df[target], errors='coerce')
    if y.isna().any():
        raise ModelError(f'target {target!r} holds values that are not numbers, e.g. {df[target][y.isna()].iloc[0]!r}.')
    if transform and (y <= _FLOOR[transform]).any():
        raise ModelError(f'--target-transform {transform} needs every {target} above {_FLOOR[transform]:g} '
                         f'(the smallest is {y.min():g}).')
    return y.to_numpy(float)


def train_regression(df, target, cat, cont, splits, epochs, lr, seed, templates, log, name,
                     target_transform: str | None = None, units: str | None = None, baseline: bool = False):
    "A tabular regression trained on the rows `splits[0]` and judged on `splits[1]`: (learner, its card)."
    from fastai.tabular.all import Categorify, FillMissing, Normalize, RegressionBlock, TabularPandas, rmse, tabular_learner
    y = numeric_target(df, target, target_transform)
    to_t = TRANSFORMS[target_transform][0]
    fit_df = df.assign(**{target: to_t(y).astype(np.float32)})
    seed_everything(seed)
    tp = TabularPandas(fit_df, procs=[Categorify, FillMissing, Normalize], cat_names=cat, cont_names=cont,
                       y_names=target, y_block=RegressionBlock(), splits=splits)
    dls = tp.dataloaders(bs=int(min(256, max(16, len(splits[0]) // 8))), num_workers=0)
    yt = fit_df[target].to_numpy(float)[list(splits[0])]
    span = float(yt.max() - yt.min()) or 1.0
    learn = tabular_learner(dls, y_range=(float(yt.min()) - 0.1 * span, float(yt.max()) + 0.1 * span), metrics=rmse)
    t0 = time.time()
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, lr)
        raw, _ = learn.get_preds(ds_idx=1)
    back = TRANSFORMS[target_transform][1]
    valid = list(splits[1])
    values = back(raw[:, 0].numpy().astype(np.float64))
    fields = regression_card(y[valid], values, target_transform, units)
    m = fields['metrics']
    log(f'{name}: trained in {time.time() - t0:.0f}s, held-out MAE {m["mae"]:.4g}, RMSE {m["rmse"]:.4g}, '
        f'R² {m["r2"]:.4f} on {len(valid)} rows')
    metrics = dict(m, train_rows=len(splits[0]), epochs=epochs)
    if baseline:
        metrics['baseline'] = gbt_baseline(df, y, cat, cont, splits, target_transform, seed)
        b = metrics['baseline']
        log(f'{name}: baseline {b["model"]}: MAE {b["mae"]:.4g}, RMSE {b["rmse"]:.4g}, R² {b["r2"]:.4f}')
    train_df = df.iloc[list(splits[0])]
    schema = tabular_schema(learn, train_df)
    reference = dict(reference_stats(train_df, schema), valid_predictions=fields['valid_predictions'])
    card = dict(task='regression', target=target, classes=[], schema=schema, metrics=metrics,
                regression=fields['regression'], reference=reference,
                templates=parse_templates(templates, ['value', 'range']))
    return learn, card


def gbt_baseline(df, y, cat, cont, splits, transform, seed) -> dict:
    """scikit-learn's `HistGradientBoostingRegressor` on the same rows and split (categories as categories, the
    same target transform): its held-out MAE, RMSE and R² in the target's units."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from predictors.kinds.numbers import metrics
    X = pd.DataFrame({c: df[c].astype('category') for c in cat} | {c: pd.to_numeric(df[c], errors='coerce') for c in cont})
    to_t, back = TRANSFORMS[transform]
    tr, va = list(splits[0]), list(splits[1])
    gbt = HistGradientBoostingRegressor(categorical_features='from_dtype', random_state=seed)
    gbt.fit(X.iloc[tr], to_t(y[tr]))
    m = metrics(y[va], back(gbt.predict(X.iloc[va])))
    return dict(model='HistGradientBoostingRegressor (scikit-learn, default settings)',
                **{k: round(v, 6) if isinstance(v, float) else v for k, v in m.items()})
