"""Single-label image classifiers (a `PILBase.create` input and a class vocab): the kind.

Its predictor (`predictor`: the most likely class, or *Not sure*), training (`train`, `cli`: `train-image`) and
calibration (`uncertainty`) are the modules beside this one; decoding uploads, Grad-CAM and the image statistics
drift watches are what the picture kinds share (`predictors.kinds.pictures`).
"""
from __future__ import annotations

from predictors.core.results import NONE_OF_THESE, class_label
from predictors.kinds.answers import CLASSES
from predictors.kinds.classifier import ClassifierKind
from predictors.kinds.image.cli import TRAINING
from predictors.kinds.inputs import IMAGES
from predictors.kinds.pictures import image_references, is_image_learner, smoke_result

__all__ = ['ImageKind']


class ImageKind(ClassifierKind):
    "Single-label image classifiers: drop pictures, a heatmap of where the model looked."
    task, priority, input, answer, view, training = 'image', 10, IMAGES, CLASSES, 'image_app', TRAINING
    noun = 'a single-label image classifier'

    def detect(self, learn):
        "A single-label image classifier (the multi-label kind, of a higher priority, is asked first)."
        return is_image_learner(learn)

    def summary(self, card):
        return f', input size {(card.get("schema") or {}).get("input_size")}'

    def truths_also(self, card):
        return [NONE_OF_THESE]

    def check_truth(self, card, truth):
        "A class, or `NONE_OF_THESE`: a picture of none of them (a wrong answer, whatever the model said)."
        return None if truth == NONE_OF_THESE else super().check_truth(card, truth)

    def predictor(self, learn, card, limits=None, files=None):
        from predictors.kinds.image.predictor import ImagePredictor
        return ImagePredictor(learn, card, limits)

    def training_frame(self, csv):
        return None            # its pictures' statistics come from training, not from a CSV

    def card_fields(self, learn, df=None, options=None):
        from predictors.kinds.pictures.predictor import image_schema
        return dict(target='label', schema=image_schema(learn), reference=None, metrics={})

    def smoke(self, pred):
        r = smoke_result(pred)
        said = f'{class_label(pred.card, r.prediction)} ({r.probabilities[r.prediction]:.1%})'
        return f'answers {"Not sure, closest " + said if r.unsure else said} for a test picture (a red disc)'

    def drift_references(self, card):
        return image_references(card)

    def rebuild(self, old):
        from predictors.kinds.pictures.legacy import picture_target, rebuild_pictures
        return rebuild_pictures(old) if picture_target(old) == 'classes' else None

    def explainer(self, pred):
        from predictors.kinds.pictures.explain import GradCam
        return GradCam(pred)
