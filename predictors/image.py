"""Batched, safe predictions for image fastai learners.

Uploaded bytes are decoded by `decode_image` (every bad file fails alone with a message);
the good images go through the learner's own item and batch transforms (`dls.test_dl`) and
the model in batches, so probabilities equal `learn.predict` on the same image.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .monitor import Logged
from .imaging import BadImage, ImageLimits, decode_image, image_stats
from .schema import image_schema

__all__ = ['ImagePredictor', 'ImageResult']


@dataclass
class ImageResult:
    "One file's answer: top classes with probabilities, or the reason it was rejected."
    name: str
    size: int = 0
    prediction: str | None = None
    probabilities: dict = field(default_factory=dict)
    error: str | None = None
    image: object = None          # the decoded RGB PIL image (for thumbnails)
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool: return self.error is None

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        return sorted(self.probabilities.items(), key=lambda kv: -kv[1])[:k]

    def to_dict(self, k: int | None = None) -> dict:
        if self.error: return dict(file=self.name, error=self.error)
        probs = dict(self.top(k)) if k else self.probabilities
        return dict(file=self.name, prediction=self.prediction, probability=self.probabilities[self.prediction],
                    probabilities=probs)


class ImagePredictor(Logged):
    "Predictions of an image Learner on uploaded bytes, in batches, with limits per upload."
    task = 'image'

    def __init__(self, learn, card: dict | None = None, limits: ImageLimits | None = None, batch_size: int = 32):
        import torch
        self.learn, self.card, self.batch_size = learn, card or {}, batch_size
        self.limits = limits or ImageLimits.from_env()
        self.model = learn.model.eval()
        self.schema = self.card.get('schema') or image_schema(learn)
        self.classes = [str(c) for c in learn.dls.vocab]
        self.name, self.version = self.card.get('name'), self.card.get('version')
        self._act = getattr(learn.loss_func, 'activation', None) or (lambda x: torch.softmax(x, -1))

    @classmethod
    def from_store(cls, store, name: str, version: str | None = None, **kwargs):
        card = store.card(name, version)
        return cls(store.load_learner(name, card['version']), card, **kwargs)

    def predict_images(self, images: list) -> np.ndarray:
        "Class probabilities (n × classes) for RGB PIL images, through the learner's own transforms."
        import torch
        out = []
        with torch.inference_mode():
            for s in range(0, len(images), self.batch_size):
                dl = self.learn.dls.test_dl(images[s:s + self.batch_size], bs=self.batch_size, num_workers=0)
                for b in dl:
                    out.append(self._act(self.model(b[0])).float().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.classes)), np.float32)

    def predict_files(self, files: list[tuple[str, bytes]]) -> list[ImageResult]:
        "Decode and classify uploaded `(name, bytes)` pairs; each bad file fails alone."
        results, total = [], 0
        for i, (name, data) in enumerate(files):
            r = ImageResult(name=str(name), size=len(data) if data is not None else 0)
            counted = r.size <= self.limits.max_bytes      # as the drop zone: refused files use no room
            if i >= self.limits.max_files:
                r.error = (f'{name}: not classified: an upload may hold at most {self.limits.max_files} '
                           f'files ({len(files)} were sent).')
            elif counted and total + r.size > self.limits.max_upload_bytes:
                r.error = (f'{name}: not classified: the files of one upload may hold '
                           f'{self.limits.max_upload_bytes // 2**20} MB together; upload the rest separately.')
            else:
                total += r.size if counted else 0
                try:
                    r.image = decode_image(data, str(name), self.limits)
                    r.stats = image_stats(r.image)
                except BadImage as e:
                    r.error = str(e)
            results.append(r)
        good = [r for r in results if r.ok]
        t0 = time.perf_counter()
        probs = self.predict_images([r.image for r in good]) if good else []
        for r, p in zip(good, probs):
            r.probabilities = {c: float(v) for c, v in zip(self.classes, p)}
            r.prediction = self.classes[int(np.argmax(p))]
        self.last_seconds = time.perf_counter() - t0
        if self.log is not None:
            per = self.last_seconds * 1000 / max(1, len(good))
            self._record([dict(inputs=dict(file=r.name, size=r.size, **r.stats), prediction=r.prediction,
                               probabilities=r.probabilities, latency_ms=round(per, 3) if r.ok else None,
                               error=r.error) for r in results])
        return results

    def predict_paths(self, paths) -> list[ImageResult]:
        "Classify image files on disk (the CLI)."
        files = []
        for p in paths:
            try:
                with open(p, 'rb') as f: files.append((str(p), f.read(self.limits.max_bytes + 1)))
            except OSError:
                files.append((str(p), None))
        return self.predict_files(files)
