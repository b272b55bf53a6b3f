"""What every model kind provides: the extension point of the model side.

A kind (its `task` in the card) owns how to recognise a learner of the kind, its predictor, what its
card holds, a smoke test, its explainer, the references its drift is measured against, how feedback
is scored and how two versions are compared, and which app shows it. Adding a kind is one module
under `predictors.kinds` and one line in the registry (`predictors.kinds.KINDS`).
"""
from __future__ import annotations

from dataclasses import dataclass

from predictors.core.helpers import input_fields

__all__ = ['ModelKind', 'PerformanceSettings']


@dataclass(frozen=True)
class PerformanceSettings:
    "How live performance is judged: at least `min_labels` labels, a one-sided test at `alpha`."
    min_labels: int = 30
    alpha: float = 0.05


class ModelKind:
    "One kind of model (its `task` in the card)."
    task: str = ''
    view: str = ''            # the notebook (app) that shows models of this kind
    takes: str = 'records'    # what it answers: 'records' (a form, JSON records, a CSV) or 'images'

    def detect(self, learn) -> bool:
        "Whether `learn` is a learner of this kind (raise `ModelError` for a near miss, with the reason)."
        raise NotImplementedError

    def classes(self, learn) -> list[str]:
        "The classes a learner of this kind answers with (none for a number)."
        return [str(c) for c in learn.dls.vocab]

    def describe(self, learn) -> str:
        "What the learner predicts, in a few words: 'tabular classifier of 2 classes'."
        return f'{self.task} classifier of {len(self.classes(learn))} classes'

    def predictor(self, learn, card: dict):
        "The predictor of a learner of this kind."
        raise NotImplementedError

    def card_fields(self, learn, df=None, options=None) -> dict:
        """What an imported learner's card holds for this kind (target, schema, reference, metrics); `df`: its
        training data; `options`: what the person said of it (`target_transform`, `units`)."""
        raise NotImplementedError

    def smoke(self, pred) -> str:
        "One prediction from nothing but the model; a short text saying what it answered."
        raise NotImplementedError

    def explainer(self, pred):
        "The explainer of a loaded predictor (why its answers)."
        raise NotImplementedError

    def drift_references(self, card: dict) -> dict:
        "{input column: (reference statistics, 'continuous' or 'categorical')} that drift compares the inputs with."
        raise NotImplementedError

    def answer_columns(self, card: dict) -> list[str]:
        "The columns a scored file adds after the input's own (`problem` last)."
        raise NotImplementedError

    def tensors(self, card: dict) -> dict:
        """The Open Inference Protocol's view of this kind (#30): `{'inputs': [...], 'outputs': [...]}` tensor
        metadata (name, datatype, shape; -1: any number of rows). A record-taking kind has one input per schema
        field (`BYTES` for categories and text, `INT64` for whole numbers, `FP64` for other numbers); an image
        kind one `BYTES` input of encoded files. Outputs: the answer, the class probabilities, the log id, an
        error per row (empty when the row was answered)."""
        if self.takes == 'images': inputs = [dict(name='image', datatype='BYTES', shape=[-1])]
        else: inputs = [dict(name=c['name'], datatype='BYTES' if c['kind'] != 'continuous' else
                             'INT64' if c.get('integer') else 'FP64', shape=[-1])
                        for c in input_fields(card)]
        classes = list(card.get('classes') or [])
        outputs = [dict(name='predicted', datatype='BYTES', shape=[-1])]
        if classes: outputs.append(dict(name='probabilities', datatype='FP32', shape=[-1, len(classes)]))
        outputs += [dict(name='id', datatype='INT64', shape=[-1]), dict(name='error', datatype='BYTES', shape=[-1])]
        return dict(inputs=inputs, outputs=outputs)

    def prediction_reference(self, card: dict):
        "`(reference statistics, 'continuous' or 'categorical')` of the answers on held-out data, or None."
        return None

    def check_truth(self, card: dict, truth) -> str | None:
        "Why `truth` cannot be the right answer for a model of this kind (None: it can), as feedback is stored."
        raise NotImplementedError

    def stored_truth(self, card: dict, truth) -> str:
        "A right answer `check_truth` accepted, as the log keeps it."
        return str(truth)

    def performance(self, labelled, card: dict, settings: PerformanceSettings) -> dict:
        "The live performance of the labelled answers (`PredictionLog.labelled`) against the card's."
        raise NotImplementedError

    def compare(self, pred_a, pred_b, df, alpha: float) -> dict:
        "Two loaded versions on the same labelled rows of `df`: each one's score and a paired test."
        raise NotImplementedError
