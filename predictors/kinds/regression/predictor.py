"""Predictions of tabular regression learners: a number per row, in the target's own units, with the range
that most held-out answers near it fell in.

The rows are checked and encoded as for classifiers (`TabularPreprocessor`), the model is called once per
batch, and a target the model learnt through a transform (`log`, `log1p`) is brought back to its units.
The range comes from the card's `regression.errors`: the quantiles of the held-out errors (actual minus
predicted, in the model's own output space) for held-out answers of about the same size, so it widens
where the model was less sure.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictors.core.csvio import spreadsheet_safe, whole_numbers
from predictors.core.results import ERROR_PREFIX, Prediction
from predictors.kinds.tables.predictor import TabularPredictor

__all__ = ['RegressionPredictor', 'NumberBatch', 'TRANSFORMS', 'error_bins', 'value_range']

# target transforms: (to the model's space, back to the target's units)
TRANSFORMS = {None: (lambda y: y, lambda z: z), 'log': (np.log, np.exp), 'log1p': (np.log1p, np.expm1)}


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


class RegressionPredictor(TabularPredictor):
    "Numbers from a tabular regression Learner: its preprocessing, the model in batches, the target's units."
    task = 'regression'

    def __init__(self, learn, card: dict | None = None, batch_size: int = 8192):
        super().__init__(learn, card, batch_size)
        reg = self.card.get('regression') or {}
        self.transform = reg.get('transform')
        self._to, self._back = TRANSFORMS[self.transform]
        self._bins, self._floor = (reg.get('errors') or {}).get('bins') or [], reg.get('floor')
        self.activation = lambda x: x             # the model's output is the number (a loss's activation aside)

    def _classes(self, learn) -> list:
        return []

    def forward(self, x_cat: np.ndarray, x_cont: np.ndarray) -> np.ndarray:
        "The predicted numbers (n × 1) in the target's units (the model's own outputs brought back from its transform)."
        with np.errstate(over='ignore'):
            return self._back(super().forward(x_cat, x_cont)[:, :1].astype(np.float64))

    def _result(self, out, errors, warns, seconds) -> NumberBatch:
        values = np.asarray(out, np.float64)[:, 0]
        with np.errstate(divide='ignore', invalid='ignore'):
            low, high = value_range(self._to(values), self._bins, self._back, self._floor)
        return NumberBatch(values, low, high, errors, warns, seconds)
