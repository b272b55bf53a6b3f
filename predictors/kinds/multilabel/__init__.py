"""Multi-label image classifiers (a `PILBase.create` input and a `MultiCategorize` target): the kind.

An answer is every label at or above its threshold, or none of them; feedback is the set of right labels;
live performance is F1 and each label's precision and recall. Its predictor (`predictor`), scores
(`performance`) and training (`train`, `cli`: `train-multilabel`) are the modules beside this one; pictures are
decoded, logged, drift-checked and explained (Grad-CAM, one heatmap per label) as the picture kinds share them
(`predictors.kinds.pictures`).
"""
from __future__ import annotations

from predictors.core.results import LABEL_DELIM, NONE_OF_THESE, class_label, label_set, label_set_text
from predictors.kinds.answers import LABELS
from predictors.kinds.base import ModelKind
from predictors.kinds.inputs import IMAGES
from predictors.kinds.multilabel.cli import TRAINING
from predictors.kinds.pictures import image_references, is_image_learner, smoke_result, target_transforms

__all__ = ['MultiLabelKind']

MULTI_Y = {'MultiCategorize', 'EncodedMultiCategorize'}


class MultiLabelKind(ModelKind):
    "Multi-label image classifiers: drop pictures, every label the model sees in each, or none."
    task, priority, input, answer, view, training = 'multilabel', 20, IMAGES, LABELS, 'image_app', TRAINING
    noun = 'a multi-label image classifier'

    def detect(self, learn):
        return is_image_learner(learn) and bool(target_transforms(learn) & MULTI_Y)

    def describe(self, learn):
        return f'multi-label image classifier of {len(self.classes(learn))} labels'

    def summary(self, card):
        return f', input size {(card.get("schema") or {}).get("input_size")}'

    def predictor(self, learn, card, limits=None, files=None):
        from predictors.kinds.multilabel.predictor import MultiLabelPredictor
        return MultiLabelPredictor(learn, card, limits)

    def training_frame(self, csv):
        return None            # its pictures' statistics come from training, not from a CSV

    def card_fields(self, learn, df=None, options=None):
        from predictors.kinds.multilabel.predictor import thresholds_of
        from predictors.kinds.pictures.predictor import image_schema
        thresholds = thresholds_of(learn, {}, self.classes(learn))
        return dict(target='labels', schema=image_schema(learn), reference=None, metrics={}, thresholds=thresholds,
                    threshold_source=f'the loss\'s thresh ({next(iter(thresholds.values())):g}) for every label: the '
                                     'export holds no validation pictures to choose one per label')

    def smoke(self, pred):
        r = smoke_result(pred)
        said = ', '.join(f'{class_label(pred.card, c)} ({r.probabilities[c]:.1%})' for c in r.labels)
        return f'answers {said or "none of its labels"} for a test picture (a red disc)'

    def rebuild(self, old):
        from predictors.kinds.pictures.legacy import picture_target, rebuild_pictures
        return rebuild_pictures(old) if picture_target(old) == 'labels' else None

    def explainer(self, pred):
        from predictors.kinds.pictures.explain import GradCam
        return GradCam(pred)

    def drift_references(self, card):
        return image_references(card)

    def stored_truth(self, card, truth):
        return label_set_text(sorted(set(label_set(truth)), key=_order(card)))

    def check_truth(self, card, truth):
        "A set of labels (a list, or text with `;` between them), or none of them (`NONE_OF_THESE`, [] or '')."
        if isinstance(truth, str) and truth.strip() in ('', NONE_OF_THESE): return None
        if not isinstance(truth, (str, list, tuple)): return f'{truth!r} is not a set of labels'
        labels = label_set(truth)
        if NONE_OF_THESE in [str(t).strip() for t in (truth if isinstance(truth, (list, tuple)) else [])] and labels:
            return f'{truth!r} names labels and none of them at once'
        classes = [str(c) for c in card.get('classes') or []]
        unknown = [t for t in labels if t not in classes]
        if not unknown: return None
        return (f'{", ".join(map(repr, unknown))} {"is" if len(unknown) == 1 else "are"} not among the labels of '
                f'{card.get("name")} ({", ".join(classes)}; separate several with {LABEL_DELIM!r})')

    def prediction_reference(self, card):
        return None       # answers are label sets: their drift is each label's rate (`performance`), not one category

    def performance(self, labelled, card, settings):
        from predictors.kinds.multilabel.performance import label_performance
        return label_performance(labelled, card, settings)

    def shadow(self, pairs, alpha=0.05):
        "Shown label sets beside the shadow's: agreement (the same set) and, on labelled pictures, exact-match accuracy."
        from predictors.kinds.classifier import shadow_classes
        return shadow_classes(pairs, alpha)


def _order(card: dict):
    "Sort key: a label's place among the card's classes (unknown ones last)."
    classes = [str(c) for c in card.get('classes') or []]
    return lambda c: classes.index(c) if c in classes else len(classes)
