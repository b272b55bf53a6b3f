"""Batched, safe predictions for multi-label image learners (`MultiCategoryBlock`, `BCEWithLogitsLossFlat`).

The pictures go through the same decoding, limits, transforms and batches as a single-label image model's
(`PicturePredictor`); each label's probability is the loss's activation (a sigmoid, as `learn.predict` gives it),
and the answer is every label at or above its threshold: the card's `thresholds`, else the loss's `thresh`.
"""
from __future__ import annotations

from predictors.core.results import ImageResult, label_set_text
from predictors.kinds.pictures.predictor import PicturePredictor

__all__ = ['MultiLabelPredictor', 'thresholds_of']


def thresholds_of(learn, card: dict, classes: list[str]) -> dict:
    "Each label's threshold: the card's `thresholds`, else the loss's `thresh` (fastai's default 0.5)."
    loss = float(getattr(learn.loss_func, 'thresh', 0.5))
    given = card.get('thresholds') or {}
    return {c: float(given.get(c, loss)) for c in classes}


class MultiLabelPredictor(PicturePredictor):
    "Predictions of a multi-label image Learner on uploaded bytes: every label above its threshold."
    task = 'multilabel'

    def __init__(self, learn, card: dict | None = None, limits=None, batch_size: int = 32):
        super().__init__(learn, card, limits, batch_size)
        self.thresholds = thresholds_of(learn, self.card, self.classes)

    def fill(self, good: list[ImageResult], probs) -> None:
        "Set each label's probability (rows of `probs`), the labels above their thresholds and their text."
        for r, p in zip(good, probs):
            r.probabilities = {c: float(v) for c, v in zip(self.classes, p)}
            above = [c for c in self.classes if r.probabilities[c] >= self.thresholds[c]]
            r.labels = sorted(above, key=lambda c: -r.probabilities[c])
            r.prediction = label_set_text(sorted(above, key=self.classes.index))
            r.unsure = False
