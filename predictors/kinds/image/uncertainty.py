"""Honest uncertainty for the image classifiers trained here: calibrated probabilities, and *Not sure* decided by a
threshold chosen on held-out pictures of none of the classes, not a bare 0.5.

- Outlier exposure (Hendrycks et al., 2019): training also shows the model pictures of none of its classes (drawings,
  textures, shapes); their target is the uniform distribution, so the model learns to spread its belief on such
  pictures instead of naming a class with 98 %.
- Temperature scaling (Guo et al., 2017): one temperature fitted on held-out photos (negative log-likelihood) and
  folded into the last layer, so the exported learner's own probabilities are the calibrated ones (`learn.predict`
  and the apps agree).
- The threshold on the highest calibrated probability minimises the balanced error on held-out photos and held-out
  negatives: the share of right answers said *Not sure* plus the share of negatives answered with a class.
"""
from __future__ import annotations

import numpy as np

__all__ = ['NONE_LABEL', 'OutlierExposureLoss', 'synthetic_negatives', 'white_to_alpha', 'fit_temperature',
           'fold_temperature', 'choose_threshold', 'calibration_error']

NONE_LABEL = '~none of these'   # the training label of a negative picture; never a class of the exported learner

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
    _Module = nn.Module
except ImportError:  # pragma: no cover - torch is a hard requirement of training
    _Module = object


class OutlierExposureLoss(_Module):
    """Label-smoothed cross-entropy on the `n` classes; a target of `n` (a picture of none of them) is pulled
    towards the uniform distribution, with `weight`. `reduction` as torch's (MixUp asks for 'none')."""

    y_int = True     # targets are class indices (fastai's MixUp mixes the losses, not the targets)

    def __init__(self, n: int, eps: float = 0.1, weight: float = 0.5, reduction: str = 'mean'):
        super().__init__()
        self.n, self.eps, self.weight, self.reduction = n, eps, weight, reduction

    def forward(self, out, targ):
        logp = F.log_softmax(out.float(), -1)
        known = targ < self.n
        nll = -logp.gather(1, targ.clamp(max=self.n - 1)[:, None])[:, 0]
        spread = -logp.mean(-1)                      # cross-entropy to the uniform distribution
        loss = torch.where(known, (1 - self.eps) * nll + self.eps * spread, self.weight * spread)
        return loss.mean() if self.reduction == 'mean' else loss.sum() if self.reduction == 'sum' else loss

    def activation(self, out): return F.softmax(out, -1)
    def decodes(self, out): return out.argmax(-1)


def synthetic_negatives(n: int, size: int = 100, seed: int = 0) -> list:
    """`n` RGB pictures of nothing the model knows: noise, smooth textures, gradients, stripes and checks, coloured
    shapes on plain or textured grounds; the same `seed` gives the same pictures."""
    from PIL import Image, ImageDraw, ImageFilter
    rng = np.random.default_rng(seed)
    colour = lambda: tuple(int(v) for v in rng.integers(0, 256, 3))
    out = []
    for i in range(n):
        kind = i % 6
        if kind == 0:
            im = Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        elif kind == 1:
            k = int(rng.choice([3, 5, 9, 17]))
            im = Image.fromarray(rng.integers(0, 256, (k, k, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC)
        elif kind == 2:
            a, b = np.array(colour()), np.array(colour())
            t = np.linspace(0, 1, size)[:, None, None]
            arr = np.broadcast_to(a * (1 - t) + b * t, (size, size, 3)).astype(np.uint8)
            im = Image.fromarray(np.ascontiguousarray(arr if rng.random() < 0.5 else arr.transpose(1, 0, 2)))
        elif kind == 3:
            step = int(rng.integers(4, 25))
            yy, xx = np.mgrid[0:size, 0:size]
            mask = ((xx // step + (yy // step if rng.random() < 0.5 else 0)) % 2).astype(bool)
            arr = np.where(mask[..., None], np.array(colour()), np.array(colour())).astype(np.uint8)
            im = Image.fromarray(arr)
        else:
            im = Image.new('RGB', (size, size), (255, 255, 255) if kind == 4 else colour())
            d = ImageDraw.Draw(im)
            for _ in range(int(rng.integers(1, 6))):
                x0, x1 = sorted(int(v) for v in rng.integers(0, size, 2))
                y0, y1 = sorted(int(v) for v in rng.integers(0, size, 2))
                box, shape = [x0, y0, x1 + 2, y1 + 2], rng.random()
                if shape < 0.4: d.rectangle(box, fill=colour())
                elif shape < 0.7: d.ellipse(box, fill=colour())
                else: d.line(box, fill=colour(), width=int(rng.integers(1, 8)))
            if rng.random() < 0.5: im = im.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 3))))
        out.append(im.convert('RGB'))
    return out


def white_to_alpha(im, level: int = 236):
    """A photo on a white sheet as RGBA: near-white pixels (every channel ≥ `level`) transparent, so training can
    put the fruit on other grounds. Pictures that already have transparency are returned as they are."""
    from PIL import Image, ImageFilter
    if im.mode == 'RGBA' and im.getchannel('A').getextrema()[0] < 255: return im
    rgb = np.asarray(im.convert('RGB'))
    alpha = Image.fromarray(np.where((rgb >= level).all(-1), 0, 255).astype(np.uint8)).filter(ImageFilter.MedianFilter(3))
    out = im.convert('RGBA'); out.putalpha(alpha)
    return out


def fit_temperature(logits, targets) -> float:
    "The temperature T that minimises the negative log-likelihood of softmax(logits / T) on held-out data."
    logits, targets = torch.as_tensor(logits).float(), torch.as_tensor(targets).long()
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), targets)
        loss.backward()
        return loss
    opt.step(closure)
    return float(log_t.exp())


def fold_temperature(model, temperature: float) -> None:
    "Divide the last linear layer's weights and bias by `temperature`: the model's logits become logits / T."
    last = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not last: raise ValueError('the model has no linear last layer to fold a temperature into')
    with torch.no_grad():
        last[-1].weight /= temperature
        if last[-1].bias is not None: last[-1].bias /= temperature


def choose_threshold(photo_conf, photo_right, negative_conf) -> float:
    """The threshold on the highest class probability that minimises the balanced error on held-out data: the share
    of right answers to photos that fall below it (said *Not sure*) plus the share of negatives at or above it
    (answered); the lowest of equally good thresholds."""
    photo_conf, photo_right = np.asarray(photo_conf, float), np.asarray(photo_right, bool)
    negative_conf = np.sort(np.asarray(negative_conf, float))
    right = np.sort(photo_conf[photo_right])
    candidates = np.unique(np.concatenate([right, negative_conf + 1e-6, [0.0]]))
    missed = np.searchsorted(right, candidates, side='left') / max(len(right), 1)
    answered = 1 - np.searchsorted(negative_conf, candidates, side='left') / max(len(negative_conf), 1)
    return float(candidates[int(np.argmin(missed + answered))])


def calibration_error(probs, targets, bins: int = 15) -> float:
    "Expected calibration error: the gap between confidence and accuracy, averaged over `bins` confidence bins."
    probs, targets = np.asarray(probs, float), np.asarray(targets)
    conf, right = probs.max(1), probs.argmax(1) == targets
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf > lo) & (conf <= hi)
        if inside.any(): total += inside.mean() * abs(conf[inside].mean() - right[inside].mean())
    return float(total)
