"""What the kinds that read pictures share (single- and multi-label image classifiers): recognising such a learner,
decoding uploads safely and in batches (`predictor`), Grad-CAM (`explain`), the smoke test's picture and the image
statistics drift watches. Not a kind itself: a kind's package composes these."""
from __future__ import annotations

from predictors.core.errors import ModelError
from predictors.core.helpers import quantile_bins

__all__ = ['STATS', 'smoke_result', 'image_references', 'is_image_learner', 'pipelines_of', 'target_transforms']

STATS = ('brightness', 'contrast', 'width', 'height', 'aspect')   # logged per image, never its pixels


def pipelines_of(learn) -> list:
    "A learner's type-transform pipelines: the input's first, then the targets' (none for a tabular learner)."
    return list(getattr(getattr(getattr(learn, 'dls', None), 'train_ds', None), 'tfms', None) or [])


def is_image_learner(learn) -> bool:
    "Whether a learner takes pictures (its input is made by `PILBase.create`) and answers with a vocab of classes."
    x_pipeline = next(iter(pipelines_of(learn)), None)   # the input's type transforms
    return (x_pipeline is not None and hasattr(learn.dls, 'vocab')
            and any(getattr(t, 'name', '') == 'PILBase.create' for t in getattr(x_pipeline, 'fs', None) or ()))


def target_transforms(learn) -> set:
    "The class names of a learner's target transforms."
    return {type(t).__name__ for p in pipelines_of(learn)[1:] for t in getattr(p, 'fs', None) or ()}


def smoke_result(pred):
    "The answer for a test picture made from nothing (a red disc on white), or `ModelError` with the reason."
    import io
    from PIL import Image, ImageDraw
    im = Image.new('RGB', (96, 96), 'white')
    ImageDraw.Draw(im).ellipse((16, 16, 80, 80), fill=(220, 40, 40))
    buf = io.BytesIO(); im.save(buf, 'PNG')
    r = pred.predict_files([('smoke.png', buf.getvalue())])[0]
    if not r.ok: raise ModelError(r.error)
    return r


def image_references(card: dict) -> dict:
    "{image statistic: (its training reference, 'continuous')} from the card, for drift."
    stats = (card.get('reference') or {}).get('image_stats') or {}
    return {c: (_stat_reference(stats[c]), 'continuous') for c in STATS if c in stats}


def _stat_reference(values, bins: int = 10) -> dict:
    "Reference bins and sample for an image statistic kept as a plain list in the card."
    edges, props = quantile_bins(values, bins)
    return dict(edges=list(edges), props=list(props), sample=list(map(float, values)))
