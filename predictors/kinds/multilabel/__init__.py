"""Multi-label image classifiers (a `PILBase.create` input and a `MultiCategorize` target): the kind's registry entry.

An answer is every label at or above its threshold, or none of them; feedback is the set of right labels;
live performance is F1 and each label's precision and recall. Its predictor (`predictor`), scores
(`performance`) and training (`train`) are the modules beside this one; pictures are decoded, logged, drift-checked
and explained (Grad-CAM, one heatmap per label) as the single-label image kind does.
"""
from __future__ import annotations

from predictors.core.results import LABEL_DELIM, NONE_OF_THESE, class_label, label_set, label_set_text
from predictors.kinds.image import ImageKind, is_image_learner, pipelines_of

__all__ = ['MultiLabelKind']

MULTI_Y = {'MultiCategorize', 'EncodedMultiCategorize'}


class MultiLabelKind(ImageKind):
    "Multi-label image classifiers: drop pictures, every label the model sees in each, or none."
    task = 'multilabel'

    def detect(self, learn):
        return is_image_learner(learn) and bool(_y_transforms(learn) & MULTI_Y)

    def describe(self, learn):
        return f'multi-label image classifier of {len(self.classes(learn))} labels'

    def predictor(self, learn, card):
        from predictors.kinds.multilabel.predictor import MultiLabelPredictor
        return MultiLabelPredictor(learn, card)

    def card_fields(self, learn, df=None, options=None):
        from predictors.kinds.image.predictor import image_schema
        from predictors.kinds.multilabel.predictor import thresholds_of
        thresholds = thresholds_of(learn, {}, self.classes(learn))
        return dict(target='labels', schema=image_schema(learn), reference=None, metrics={}, thresholds=thresholds,
                    threshold_source=f'the loss\'s thresh ({next(iter(thresholds.values())):g}) for every label: the '
                                     'export holds no validation pictures to choose one per label')

    def tensors(self, card):
        """Besides each label's own probability (`probabilities`, a sigmoid each: they need not add up to 1), the
        answer as a multi-hot `labels` (`BOOL` `[n, k]`: the label is at or above its threshold); `predicted` is
        the labels' text, as `/v1` gives it."""
        out = super().tensors(card)
        at = next(i for i, o in enumerate(out['outputs']) if o['name'] == 'probabilities') + 1
        out['outputs'].insert(at, dict(name='labels', datatype='BOOL', shape=[-1, len(card.get('classes') or [])]))
        return out

    def smoke(self, pred):
        r = self._smoke_result(pred)
        said = ', '.join(f'{class_label(pred.card, c)} ({r.probabilities[c]:.1%})' for c in r.labels)
        return f'answers {said or "none of its labels"} for a test picture (a red disc)'

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

    def answer_columns(self, card):
        return ['labels'] + [f'probability_{c}' for c in card.get('classes') or []] + ['problem']

    def prediction_reference(self, card):
        return None       # answers are label sets: their drift is each label's rate (`performance`), not one category

    def performance(self, labelled, card, settings):
        from predictors.kinds.multilabel.performance import label_performance
        return label_performance(labelled, card, settings)


def _order(card: dict):
    "Sort key: a label's place among the card's classes (unknown ones last)."
    classes = [str(c) for c in card.get('classes') or []]
    return lambda c: classes.index(c) if c in classes else len(classes)


def _y_transforms(learn) -> set:
    "The class names of a learner's target transforms."
    return {type(t).__name__ for p in pipelines_of(learn)[1:] for t in getattr(p, 'fs', [])}
