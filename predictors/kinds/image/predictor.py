"""Predictions of single-label image classifiers: the most likely class of each picture, or *Not sure* below the
card's `min_confidence` (`is_unsure`). Decoding, limits and batches are what the picture-reading kinds share
(`predictors.kinds.pictures.predictor`)."""
from __future__ import annotations

import numpy as np

from predictors.core.results import ImageResult, is_unsure
from predictors.kinds.pictures.predictor import PicturePredictor

__all__ = ['ImagePredictor']


class ImagePredictor(PicturePredictor):
    "Predictions of an image Learner on uploaded bytes, in batches, with limits per upload."
    task = 'image'

    def fill(self, good: list[ImageResult], probs) -> None:
        "Set the class probabilities (rows of `probs`) on the decoded results `good`."
        for r, p in zip(good, probs):
            r.probabilities = {c: float(v) for c, v in zip(self.classes, p)}
            r.prediction = self.classes[int(np.argmax(p))]
            r.unsure = is_unsure(self.card, r.probabilities)
