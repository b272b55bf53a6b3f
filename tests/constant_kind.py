"""A throwaway kind of model (#39): it answers every row with the same class. Nothing in the project names it: it is
registered alone (`predictors.kinds.register`), and `tests/test_seam.py` serves it on every surface.

It is built only from what the seam offers a new kind: `ModelKind`, an input (`RECORDS`), an answer shape (`CLASSES`)
and the shared pieces of a predictor of rows (`AnswersRows`, `BatchResult`)."""
import numpy as np

from predictors.core.errors import ModelError
from predictors.kinds.answers import CLASSES
from predictors.kinds.base import ModelKind
from predictors.kinds.inputs import RECORDS
from predictors.kinds.tables.predictor import AnswersRows, BatchResult


class _Loaders:
    "What fastai's `load_learner` asks of a learner's data loaders."
    def cpu(self): return self


class ConstantLearner:
    """The exported 'learner': the class it always answers, its classes (a fastcore `L`, as a learner's vocab is: an
    export holds something of fastai's) and the fields it reads (each a category)."""

    def __init__(self, answer: str, classes: list, fields: dict):
        from fastcore.foundation import L
        self.answer, self.classes, self.fields, self.dls = answer, L(classes), dict(fields), _Loaders()


class ConstantPredictor(AnswersRows):
    "Every row with all its fields answered with the learner's class; a row with an empty field fails alone."

    def __init__(self, learn: ConstantLearner, card: dict):
        self.learn, self.card = learn, card
        self.name, self.version, self.task = card.get('name'), card.get('version'), 'constant'
        self.classes = list(learn.classes)
        self.inputs = [dict(name=f, kind='categorical', values=v, default=v[0]) for f, v in learn.fields.items()]

    def _batch(self, rows: list[dict]) -> BatchResult:
        probs = np.tile(np.array([float(c == self.learn.answer) for c in self.classes], np.float32), (len(rows), 1))
        errors = {i: f'{", ".join(f for f in self.learn.fields if r.get(f) in (None, ""))}: empty'
                  for i, r in enumerate(rows) if any(r.get(f) in (None, '') for f in self.learn.fields)}
        return BatchResult(self.classes, probs, errors, {}, 0.0)

    def predict_records(self, records):
        return self._batch(records)

    def predict_frame(self, df):
        self.require_columns(df.columns)
        return self._batch(df.astype(object).where(df.notna(), None).to_dict('records'))

    def require_columns(self, columns, what='the input'):
        missing = [f for f in self.learn.fields if f not in columns]
        if missing: raise ModelError(f'{what} lacks the column {", ".join(missing)} that the model needs.')

    def unused_columns(self, columns):
        return [c for c in columns if c not in self.learn.fields]


class ConstantKind(ModelKind):
    "A model that always gives the same class: a form of its fields, CSV scoring, the class and its probability."
    task, noun, priority, input, answer, view = 'constant', 'a constant classifier', 5, RECORDS, CLASSES, 'tabular_app'

    def detect(self, learn):
        return isinstance(learn, ConstantLearner)

    def classes(self, learn):
        return list(learn.classes)

    def predictor(self, learn, card, limits=None, files=None):
        return ConstantPredictor(learn, card)

    def card_fields(self, learn, df=None, options=None):
        inputs = [dict(name=f, kind='categorical', values=v, default=v[0]) for f, v in learn.fields.items()]
        return dict(target='answer', schema=dict(inputs=inputs, target='answer'), metrics={}, reference=None)

    def smoke(self, pred):
        p = pred.predict_one({c['name']: c['default'] for c in pred.inputs})
        return f'answers {p.prediction!r} for the default input'

    def drift_references(self, card):
        return {}

    def check_truth(self, card, truth):
        return None if truth in card.get('classes', []) else f'{truth!r} is not one of its classes'

    def performance(self, labelled, card, settings):
        from predictors.kinds.classifier import class_performance
        return class_performance(labelled, card, settings)

    def shadow(self, pairs, alpha=0.05):
        from predictors.kinds.classifier import shadow_classes
        return shadow_classes(pairs, alpha)
