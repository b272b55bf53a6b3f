"""Single-label image classifiers (a `PILBase.create` input and a class vocab): the kind's registry entry.

Its predictor (`predictor`), explainer (`explain`) and training (`train`) are the modules beside this one.
"""
from __future__ import annotations

from predictors.core.helpers import quantile_bins
from predictors.core.results import NONE_OF_THESE, class_label
from predictors.core.store import ModelError
from predictors.kinds.classifier import ClassifierKind

__all__ = ['ImageKind', 'is_image_learner', 'pipelines_of']


def pipelines_of(learn) -> list:
    "A learner's type-transform pipelines: the input's first, then the targets' (none for a tabular learner)."
    return list(getattr(getattr(learn.dls, 'train_ds', None), 'tfms', None) or [])


def is_image_learner(learn) -> bool:
    "Whether a learner takes pictures (its input is made by `PILBase.create`) and answers with a vocab of classes."
    x_pipeline = next(iter(pipelines_of(learn)), None)   # the input's type transforms
    return (x_pipeline is not None and hasattr(learn.dls, 'vocab')
            and any(getattr(t, 'name', '') == 'PILBase.create' for t in x_pipeline.fs))


class ImageKind(ClassifierKind):
    "Single-label image classifiers: drop pictures, a heatmap of where the model looked."
    task, view, takes = 'image', 'image_app.ipynb', 'images'
    STATS = ('brightness', 'contrast', 'width', 'height', 'aspect')   # logged per image, never its pixels

    def detect(self, learn):
        "A single-label image classifier (the multi-label kind is asked first)."
        return is_image_learner(learn)

    def check_truth(self, card, truth):
        "A class, or `NONE_OF_THESE`: a picture of none of them (a wrong answer, whatever the model said)."
        return None if truth == NONE_OF_THESE else super().check_truth(card, truth)

    def predictor(self, learn, card):
        from predictors.kinds.image.predictor import ImagePredictor
        return ImagePredictor(learn, card)

    def card_fields(self, learn, df=None, options=None):
        from predictors.kinds.image.predictor import image_schema
        return dict(target='label', schema=image_schema(learn), reference=None, metrics={})

    @staticmethod
    def _smoke_result(pred):
        "The answer for a test picture made from nothing (a red disc on white)."
        import io
        from PIL import Image, ImageDraw
        im = Image.new('RGB', (96, 96), 'white')
        ImageDraw.Draw(im).ellipse((16, 16, 80, 80), fill=(220, 40, 40))
        buf = io.BytesIO(); im.save(buf, 'PNG')
        r = pred.predict_files([('smoke.png', buf.getvalue())])[0]
        if not r.ok: raise ModelError(r.error)
        return r

    def smoke(self, pred):
        r = self._smoke_result(pred)
        said = f'{class_label(pred.card, r.prediction)} ({r.probabilities[r.prediction]:.1%})'
        return f'answers {"Not sure, closest " + said if r.unsure else said} for a test picture (a red disc)'

    def drift_references(self, card):
        stats = (card.get('reference') or {}).get('image_stats') or {}
        return {c: (_stat_reference(stats[c]), 'continuous') for c in self.STATS if c in stats}

    def explainer(self, pred):
        from predictors.kinds.image.explain import GradCam
        return GradCam(pred)



def _stat_reference(values, bins: int = 10) -> dict:
    "Reference bins and sample for an image statistic kept as a plain list in the card."
    edges, props = quantile_bins(values, bins)
    return dict(edges=list(edges), props=list(props), sample=list(map(float, values)))
