"""Predictions of tabular regression learners: a number per row, in the target's own units, with the range
that most held-out answers near it fell in.

The rows are checked and encoded as for classifiers (`TabularPreprocessor`), the model is called once per
batch, and a target the model learnt through a transform (`log`, `log1p`) is brought back to its units.
The range comes from the card's `regression.errors`: the quantiles of the held-out errors (actual minus
predicted, in the model's own output space) for held-out answers of about the same size, so it widens
where the model was less sure.
"""
from __future__ import annotations


import numpy as np

from predictors.kinds.numbers import NumberBatch, value_range
from predictors.kinds.tables.predictor import TabularPredictor

__all__ = ['RegressionPredictor', 'TRANSFORMS']

# target transforms: (to the model's space, back to the target's units)
TRANSFORMS = {None: (lambda y: y, lambda z: z), 'log': (np.log, np.exp), 'log1p': (np.log1p, np.expm1)}


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
