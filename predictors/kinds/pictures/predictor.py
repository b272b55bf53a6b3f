"""What the kinds that read pictures share: uploaded files decoded safely, in batches, through the learner's own transforms.

Uploaded bytes are decoded by `decode_image` (every bad file fails alone with a message);
the good images go through the learner's own item and batch transforms (`dls.test_dl`) and
the model in batches, so probabilities equal `learn.predict` on the same image. A kind's predictor
(`ImagePredictor`, `MultiLabelPredictor`) adds how the probabilities become its answer (`fill`).
"""
from __future__ import annotations

import time

import numpy as np

from predictors.core.helpers import byte_size
from predictors.core.imaging import BadImage, ImageLimits, decode_image, image_stats
from predictors.core.results import ImageResult

__all__ = ['PicturePredictor', 'image_schema']


class PicturePredictor:
    "Predictions of a Learner that reads pictures, on uploaded bytes, in batches, with limits per upload."
    task = ''

    def __init__(self, learn, card: dict | None = None, limits: ImageLimits | None = None, batch_size: int = 32):
        import torch
        self.learn, self.card, self.batch_size = learn, card or {}, batch_size
        self.limits = limits or ImageLimits()
        self.model = learn.model.eval()
        self.schema = self.card.get('schema') or image_schema(learn)
        self.classes = [str(c) for c in learn.dls.vocab]
        self.name, self.version = self.card.get('name'), self.card.get('version')
        self.activation = getattr(learn.loss_func, 'activation', None) or (lambda x: torch.softmax(x, -1))
        # images are decoded at (or shrunk to) a longest side of twice the model's input, 512 px at least
        self.side = max(512, 2 * max(self.schema.get('input_size') or [0]))
        self.forward_shared = self.predict_images        # concurrent calls may share one forward pass (the server's queue)

    def predict_images(self, images: list) -> np.ndarray:
        "Class probabilities (n × classes) for RGB PIL images, through the learner's own transforms."
        return self.activation(self.logits(images)).float().numpy()

    def logits(self, images: list):
        "The model's outputs before its activation (a float tensor, n × classes) for RGB PIL images."
        import torch
        out = []
        with torch.inference_mode():
            for s in range(0, len(images), self.batch_size):
                dl = self.learn.dls.test_dl(images[s:s + self.batch_size], bs=self.batch_size, num_workers=0)
                out += [self.model(b[0]).float() for b in dl]
        return torch.cat(out) if out else torch.zeros((0, len(self.classes)))

    def answer(self, inputs: list[tuple[str, bytes]], forward=None) -> tuple[list[ImageResult], list[dict]]:
        """One `ImageResult` per `(name, bytes)` file (each bad file fails alone) and a log entry each (the file's name,
        size and statistics, never its pixels); `forward`: a shared forward pass (the server's batch queue)."""
        t0 = time.perf_counter()
        results = self.decode_files(inputs)
        good = [r for r in results if r.ok]
        if good: self.fill(good, (forward or self.predict_images)([r.image for r in good]))
        per = (time.perf_counter() - t0) * 1000 / max(1, len(good))
        return results, [dict(inputs=dict(file=r.name, size=r.size, **r.stats), prediction=r.prediction,
                              probabilities=r.probabilities, latency_ms=round(per, 3) if r.ok else None, error=r.error)
                         for r in results]

    def predict_files(self, files: list[tuple[str, bytes]]) -> list[ImageResult]:
        "Decode and classify uploaded `(name, bytes)` pairs; each bad file fails alone."
        results = self.decode_files(files)
        good = [r for r in results if r.ok]
        self.fill(good, self.predict_images([r.image for r in good]))
        return results

    def decode_files(self, files: list[tuple[str, bytes]]) -> list[ImageResult]:
        "Check the upload limits and decode each file: results with `.image` set, or `.error` for that file."
        results, total = [], 0
        for i, (name, data) in enumerate(files):
            r = ImageResult(name=str(name), size=len(data) if data is not None else 0)
            counted = r.size <= self.limits.max_bytes      # as the drop zone: refused files use no room
            if i >= self.limits.max_files:
                r.error = (f'{name}: not classified: an upload may hold at most {self.limits.max_files} '
                           f'files ({len(files)} were sent).')
            elif counted and total + r.size > self.limits.max_upload_bytes:
                r.error = (f'{name}: not classified: the files of one upload may hold '
                           f'{byte_size(self.limits.max_upload_bytes)} together; upload the rest separately.')
            else:
                total += r.size if counted else 0
                try:
                    r.image = decode_image(data, str(name), self.limits, self.side)
                    r.stats = image_stats(r.image)
                except BadImage as e:
                    r.error = str(e)
            results.append(r)
        return results

    def fill(self, good: list[ImageResult], probs) -> None:
        "Set the answer of each decoded result in `good` from its row of `probs` (the kind's own)."
        raise NotImplementedError


def image_schema(learn) -> dict:
    "Classes and the expected input size of an image learner (from its `Resize` item transform)."
    size = None
    for t in getattr(learn.dls, 'after_item', []).fs if hasattr(learn.dls, 'after_item') else []:
        if type(t).__name__ in ('Resize', 'RandomResizedCrop') and hasattr(t, 'size'):
            size = [int(s) for s in t.size]
    return dict(input_size=size, classes=[str(c) for c in learn.dls.vocab])
