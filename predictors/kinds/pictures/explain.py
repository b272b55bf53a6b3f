"""Where an image model looked: Grad-CAM for the top class (a multi-label model: for each label it names) on the last module whose output still has a
spatial grid (the last convolutional block), in the same forward pass as the prediction: the gradient
goes back through the head only. `overlay_png` draws it over the image as the model saw it.
"""
from __future__ import annotations

import io
import math
import threading

import numpy as np

from predictors.core.results import ImageResult

__all__ = ['GradCam', 'overlay_png', 'heat_centre', 'targets']


class GradCam:
    "Grad-CAM heatmaps of an `ImagePredictor`'s answer (`targets`), in the forward pass that predicts."

    def __init__(self, pred):
        self.pred = pred
        self._on = threading.local()
        self.layer = _last_grid_module(pred)
        self.layer.register_forward_hook(self._hook)

    def _hook(self, module, inputs, out):
        "Only in this thread's explaining pass: from here on record the graph, starting at this output."
        if not getattr(self._on, 'active', False): return None
        import torch
        torch.set_grad_enabled(True)
        self._on.acts = out.detach().requires_grad_()
        return self._on.acts

    def explain_images(self, images: list) -> tuple[np.ndarray, list[dict], list[np.ndarray]]:
        """For RGB PIL images: class probabilities (n × classes), per image {class index: heatmap (input height ×
        width, 0–1)} for each class it answers (`targets`) and the image as the model saw it (uint8, h × w × 3)."""
        import torch
        probs, cams, seen = [], [], []
        bs = self.pred.batch_size
        for s in range(0, len(images), bs):
            dl = self.pred.learn.dls.test_dl(images[s:s + bs], bs=bs, num_workers=0)
            for b in dl:
                xb = b[0]
                was = torch.is_grad_enabled()
                torch.set_grad_enabled(False)          # the body runs without a graph; the hook turns it on
                self._on.active = True
                try:
                    logits = self.pred.model(xb)
                    acts = self._on.acts
                finally:
                    self._on.active = False
                    torch.set_grad_enabled(was)
                p = self.pred.activation(logits.detach()).float().numpy()
                cams += self._cams(logits, acts, [targets(self.pred, row) for row in p], xb.shape[-2:])
                probs.append(p)
                with torch.no_grad():
                    shown = dl.after_batch.decode((xb,))[0]
                    seen += [np.asarray(t.permute(1, 2, 0).clamp(0, 255).to(torch.uint8)) for t in shown]
        return (np.concatenate(probs) if probs else np.zeros((0, len(self.pred.classes)), np.float32)), cams, seen

    @staticmethod
    def _cams(logits, acts, wanted: list[list[int]], size) -> list[dict]:
        """Per image, {class index: Grad-CAM} for its `wanted` classes: one backward pass per rank (each image's first
        class, then its second...), as an image's logits depend on its own activations only."""
        import torch
        import torch.nn.functional as F
        out = [{} for _ in wanted]
        for k in range(max(map(len, wanted), default=0)):
            rows = [i for i, w in enumerate(wanted) if len(w) > k]
            cls = torch.tensor([wanted[i][k] for i in rows])
            grads, = torch.autograd.grad(logits[rows].gather(1, cls[:, None]).sum(), acts, retain_graph=True)
            with torch.no_grad():
                g, a = grads[rows], acts[rows]
                cam = F.relu((g.mean((2, 3), keepdim=True) * a).sum(1, keepdim=True))
                cam = F.interpolate(cam, size=size, mode='bilinear', align_corners=False)[:, 0]
                cam = cam / cam.flatten(1).max(1).values.clamp_min(1e-12)[:, None, None]
            for i, c, m in zip(rows, cls.tolist(), cam.numpy()): out[i][c] = m
        return out

    def explain(self, inputs: list[tuple[str, bytes]]) -> list[ImageResult]:
        "One result per `(name, bytes)` file with its answer and where the model looked; each bad file fails alone."
        results = self.pred.decode_files(inputs)
        self.explain_results(results)
        for r in results: r.image = None
        return results

    def explain_results(self, results: list[ImageResult]) -> None:
        """Fill the decoded results with probabilities, prediction and `heatmap` (PNG of the overlay, for the top
        class); a multi-label answer also `heatmaps`, one per label it names (none named: its closest label's)."""
        good = [r for r in results if r.ok]
        probs, cams, seen = self.explain_images([r.image for r in good])
        self.pred.fill(good, probs)
        for r, cam, im in zip(good, cams, seen):
            pngs = {self.pred.classes[c]: overlay_png(im, m) for c, m in cam.items()}
            r.heatmap = next(iter(pngs.values()))
            if r.labels is not None: r.heatmaps = {c: pngs[c] for c in r.labels} if r.labels else pngs   # none: the closest


def targets(pred, probs: np.ndarray) -> list[int]:
    """The classes an answer names, as indices, the most likely first: a multi-label model's labels above their
    thresholds (its most likely label when none is), else the top class."""
    order = [int(i) for i in np.argsort(-probs)]
    th = getattr(pred, 'thresholds', None)
    named = [i for i in order if probs[i] >= th[pred.classes[i]]] if th else []
    return named or order[:1]


def _last_grid_module(pred):
    "The module that runs last and still returns a spatial grid (N × C × H × W, H and W > 1)."
    import torch
    from PIL import Image
    found = []

    def probe(module, inputs, out):
        if isinstance(out, torch.Tensor) and out.dim() == 4 and out.shape[-1] > 1 and out.shape[-2] > 1:
            found.append(module)
    hooks = [m.register_forward_hook(probe) for m in pred.model.modules() if m is not pred.model]
    try:
        xb = pred.learn.dls.test_dl([Image.new('RGB', (64, 64), 'white')], bs=1, num_workers=0).one_batch()[0]
        with torch.no_grad(): pred.model(xb)
    finally:
        for h in hooks: h.remove()
    if not found: raise ValueError('the model has no convolutional layer with a spatial output to explain')
    return found[-1]


def overlay_png(image: np.ndarray, cam: np.ndarray, alpha: float = 0.5, min_side: int = 128) -> bytes:
    """PNG of `image` (H × W × 3 uint8) with `cam` (H × W, 0–1) drawn over it in the 'jet' colours,
    enlarged to at least `min_side` pixels (a model's 64 px input is hard to read)."""
    from matplotlib import colormaps
    from PIL import Image
    heat = colormaps['jet'](np.clip(cam, 0, 1))[..., :3] * 255
    mixed = Image.fromarray((image.astype(np.float32) * (1 - alpha) + heat * alpha).clip(0, 255).astype(np.uint8))
    scale = math.ceil(min_side / max(1, min(mixed.size)))
    if scale > 1: mixed = mixed.resize((mixed.width * scale, mixed.height * scale), Image.BILINEAR)
    buf = io.BytesIO()
    mixed.save(buf, 'PNG')
    return buf.getvalue()


def heat_centre(cam: np.ndarray) -> tuple[float, float]:
    "The heatmap's centre of mass as (x, y), each 0–1 from the top left."
    h, w = cam.shape
    total = float(cam.sum()) or 1.0
    ys, xs = np.mgrid[0:h, 0:w]
    return float((cam * xs).sum() / total / max(1, w - 1)), float((cam * ys).sum() / total / max(1, h - 1))
