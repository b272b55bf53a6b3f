"""What every model kind provides, and the registry of kinds: the extension point of the model side.

A kind (its `task` in the card) declares everything the rest of the system asks of it: how to recognise a learner
of the kind (`detect`, asked in order of `priority`), what it reads (`input`, an `Input`), its answer's shape
(`answer`, an `AnswerShape`: how an answer is encoded for `/v1`, `/v2` tensors and a scored CSV), its predictor
(a `Predictor`), card fields, smoke test, explainer, drift references, feedback check, live performance and
version comparison (as data), training (`training`: the CLI makes one verb of it), its legacy rebuild, the app
that shows it (`view`) and its example calls. Adding a kind is one package under `predictors.kinds` and one
`register(...)` line in `predictors/kinds/__init__.py`; a test or a plugin may `register` one at run time.

A kind's package is light to import (the doors and the thin app kernels read the registry): what needs numpy,
pandas, torch or fastai (its predictor, explainer, statistics, training) sits in the modules beside it and the
kind's methods import it when first asked. That is the one deliberate deferral of imports on the model side.
Kinds do not import each other's packages: what several kinds share sits beside them (`classifier`, `tables/`,
`pictures/`, `inputs`, `answers`), and one kind reaches another only through this registry (`kind(task)`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

from predictors.core.errors import ModelError
from predictors.core.helpers import input_fields, json_safe
from predictors.kinds.answers import AnswerShape
from predictors.kinds.inputs import Input

__all__ = ['ModelKind', 'PerformanceSettings', 'Predictor', 'RowPredictor', 'Training', 'Command', 'KINDS', 'register', 'kind', 'kind_of',
           'detect_kind', 'chosen', 'kinds_shown_by', 'views']


@dataclass(frozen=True)
class PerformanceSettings:
    "How live performance is judged: at least `min_labels` labels, a one-sided test at `alpha`."
    min_labels: int = 30
    alpha: float = 0.05


@dataclass(frozen=True)
class Training:
    """How models of a kind are trained from the command line: the verb (`train-…`), its help, the options it adds to
    its parser (`arguments(parser)`) and `run(args, store, context)`, which trains, registers and returns the version.
    `context` holds what the CLI lends it: `log(message)` and `labelled(model, target)` (logged feedback as rows)."""
    verb: str
    help: str
    arguments: Callable
    run: Callable


@dataclass(frozen=True)
class Command:
    """A verb of the command line that a kind brings (a recommender's `recommend`): its name, help, the options it adds
    to its parser (`arguments(parser)`) and `run(args, context)`, which returns the exit status. `context` holds what
    the CLI lends it: `models()` (the models in this process, logging as the CLI does), `store(new=False)` and `log`."""
    verb: str
    help: str
    arguments: Callable
    run: Callable


@runtime_checkable
class Predictor(Protocol):
    "What the service calls on a loaded model version, whatever its kind."
    name: str | None
    version: str | None
    task: str
    card: dict

    def answer(self, inputs: list, forward=None) -> tuple[list, list[dict]]:
        """One answer per input (`Prediction`s for rows, `ImageResult`s for files: as the kind's `input` reads them;
        a bad input fails alone, in its place) and one log entry per answer. `forward`: a shared forward pass to use
        instead of the model's own (the model server's batch queue), for predictors that have `forward_batch`."""


@runtime_checkable
class RowPredictor(Predictor, Protocol):
    """What the service and the transports also call on a predictor of rows (a kind whose input has the `rows` form):
    a CSV scored in chunks, the CLI, `compare` and Dask. `predictors.kinds.tables.predictor` has the shared pieces
    (`AnswersRows`: `answer` from `predict_records`; `BatchResult`: answers of many rows and their scored CSV)."""
    inputs: list

    def predict_records(self, records: list[dict]):
        "The answers of records ({column: value}; a missing column is empty): a batch result (see `predict_frame`)."

    def predict_frame(self, df):
        """The answers of a DataFrame's rows: iterable of answers, `len`, `errors` ({row: why}), `seconds`, and
        `scored(df)` (the scored rows); `ModelError` when it lacks a column the model needs."""

    def predict_one(self, values: dict):
        "The answer of one record."

    def score_frame(self, df, res=None):
        "`df` with the kind's answer columns (`ModelKind.answer_columns`); `res`: its answers when already made."

    def require_columns(self, columns, what: str = 'the input') -> None:
        "`ModelError` naming the columns the model needs that `columns` lacks."

    def unused_columns(self, columns) -> list[str]:
        "The columns of `columns` the model does not read."

    def logged_inputs(self, rows: list[dict], res, start: int = 0) -> list[dict]:
        "What the log keeps of the inputs `rows` (answered in `res` from row `start`)."


class ModelKind:
    "One kind of model (its `task` in the card): what it declares and what it is asked."
    task: str = ''
    noun: str = ''                     # what it is, in words: 'a tabular classifier'
    priority: int = 0                  # `detect_kind` asks kinds in this order, highest first (a refinement first)
    input: Input                       # what it reads (`predictors.kinds.inputs`)
    answer: AnswerShape                # what it answers (`predictors.kinds.answers`)
    view: str = ''                     # the app (notebook without .ipynb) that shows models of this kind
    training: Training | None = None   # its `train-…` verb, if models of the kind are trained here
    commands: tuple = ()               # other verbs it brings to the command line (`Command`s)
    verbs: frozenset = frozenset()     # what its predictor answers besides `answer`: the service's verbs it takes
    drift_refused: bool = False        # drift reads the inputs the model refused too (a recommender's unknown people)

    def detect(self, learn) -> bool:
        "Whether `learn` is a learner of this kind (raise `ModelError` for a near miss, with the reason); never raises otherwise."
        raise NotImplementedError

    def classes(self, learn) -> list[str]:
        "The classes a learner of this kind answers with (none for a number)."
        return [str(c) for c in learn.dls.vocab]

    def describe(self, learn) -> str:
        "What the learner predicts, in a few words: 'tabular classifier of 2 classes'."
        return f'{self.task} classifier of {len(self.classes(learn))} classes'

    def summary(self, card: dict) -> str:
        "What a model's card says it reads, in a few words for `verify` (', 14 input columns')."
        return ''

    def predictor(self, learn, card: dict, limits=None, files=None) -> Predictor:
        """The predictor of a learner of this kind; `limits`: the uploads it takes (`ImageLimits`, a kind of files);
        `files`: the data files the store keeps beside the version ({name: path}, each checked against the card)."""
        raise NotImplementedError

    def card_fields(self, learn, df=None, options=None) -> dict:
        """What an imported learner's card holds for this kind (target, schema, reference, metrics); `df`: its
        training data (`training_frame`); `options`: what the person said of it (`import_options`)."""
        raise NotImplementedError

    import_options: tuple = ()         # the options of `import` that go with this kind (e.g. a regression's units)

    def data_files(self, learn, df, folder) -> dict:
        """The data files an imported learner keeps beside it in the store, written into `folder` ({name: path}; `df`:
        its training data, or None): a recommender's training ratings (who rated what)."""
        return {}

    def training_frame(self, csv):
        "The training data `import --csv` gives, as the kind reads it (None: the kind takes none)."
        from predictors.core.csvio import read_csv_checked
        return read_csv_checked(csv)

    def card(self, learn, df=None, options=None) -> dict:
        "The card of an imported learner of this kind (`df`: its `training_frame`): its task, classes and `card_fields`."
        options = options or {}
        wrong = sorted(set(options) - set(self.import_options))
        if wrong: raise ModelError(f'{", ".join(wrong)} do(es) not go with {self.noun or "a " + self.task + " model"}.')
        return dict(task=self.task, classes=self.classes(learn), **self.card_fields(learn, df, options))

    def smoke(self, pred) -> str:
        "One prediction from nothing but the model; a short text saying what it answered."
        raise NotImplementedError

    def explainer(self, pred):
        "The explainer of a loaded predictor (why its answers): `explain(inputs)`, one explanation per input."
        raise NotImplementedError

    def explained_fields(self, card: dict) -> list[str]:
        "The parts an explanation splits an answer into, in order (the CLI's contribution columns): its input fields."
        return [c['name'] for c in input_fields(card)]

    def drift_references(self, card: dict) -> dict:
        "{input column: (reference statistics, 'continuous' or 'categorical')} that drift compares the inputs with."
        raise NotImplementedError

    def prediction_reference(self, card: dict):
        "`(reference statistics, 'continuous' or 'categorical')` of the answers on held-out data, or None."
        return None

    def answer_columns(self, card: dict) -> list[str]:
        "The columns a scored file adds after the input's own (`problem` last)."
        return self.answer.columns(card)

    def tensors(self, card: dict) -> dict:
        "The Open Inference Protocol's view of a model: `{'inputs': [...], 'outputs': [...]}` tensor metadata."
        return dict(inputs=self.input.tensors(card), outputs=self.answer.outputs(card))

    def verb_tensors(self, card: dict, verb: str) -> dict:
        "The tensors of a verb besides the answer over the Open Inference Protocol (`parameters.verb`), as `tensors`."
        raise ModelError(f'{card.get("name")} answers no {verb!r} over /v2'
                         + (f' (its verbs: {", ".join(sorted(self.verbs))}).' if self.verbs else '.'))

    def example_parameters(self, card: dict) -> dict:
        "The `parameters` of an example infer request (`docs/api-examples.md`): what makes its answer the same every time."
        return {}

    def with_parameters(self, inputs: list, parameters: dict) -> list:
        "The inputs of an infer request as the predictor reads them, given the request's `parameters` (a language model's seed)."
        return inputs

    def infer_verb(self, models, card: dict, verb: str, columns: dict, parameters: dict) -> list[dict]:
        "The output tensors of `verb` asked of `models` (the service) with the input tensors `columns` ({name: values})."
        raise NotImplementedError

    def check_truth(self, card: dict, truth) -> str | None:
        "Why `truth` cannot be the right answer for a model of this kind (None: it can), as feedback is stored."
        raise NotImplementedError

    def stored_truth(self, card: dict, truth) -> str:
        "A right answer `check_truth` accepted, as the log keeps it."
        return str(truth)

    def truths_also(self, card: dict) -> list[str]:
        "Right answers feedback takes besides the classes (an image kind: *none of these*)."
        return []

    def performance(self, labelled, card: dict, settings: PerformanceSettings) -> dict:
        "The live performance of the labelled answers (`PredictionLog.labelled`) against the card's, as data (`measure`)."
        raise NotImplementedError

    def compare(self, pred_a, pred_b, df, alpha: float) -> dict:
        "Two loaded versions on the same labelled rows of `df`: each one's score and a paired test, as data (`measure`)."
        raise ModelError('compare works on labelled CSV rows: both versions must be models of rows (records or texts).')

    def shadow(self, pairs, alpha: float = 0.05) -> dict:
        "Shown answers beside a shadow version's (`PredictionLog.shadow_pairs`), as data (`measure`)."
        raise NotImplementedError

    def rebuild(self, old):
        """A fastai 2.8 learner rebuilt from the parts of a fastai 2.0–2.7 export (`predictors.kinds.legacy.OldParts`),
        None when the export is not of this kind, or `ModelError` for one of this kind that cannot be rebuilt."""
        return None

    def example_calls(self, card: dict, url: str) -> list[tuple[str, str]]:
        "(title, code) of the calls a program makes for this model at `url` (the app page's *Use via API*)."
        return self.input.example_calls(card, url)

    def accepts(self, name: str, form: str) -> None:
        "`ModelError` when model `name` of this kind does not read inputs of `form` ('rows' or 'files'), saying what to send."
        if form != self.input.form:
            raise ModelError(f'{name} is {"an" if self.task[:1] in "aeiou" else "a"} {self.task} model: {self.input.send}.')


# ---- the registry ------------------------------------------------------------------------------------------------
KINDS: dict[str, ModelKind] = {}


def register(k: ModelKind) -> ModelKind:
    "Add a kind to the registry (its `task` is its key; registering a task again replaces its kind)."
    if not (k.task and isinstance(k.input, Input) and isinstance(k.answer, AnswerShape)):
        raise TypeError(f'{type(k).__name__} declares no task, input or answer')
    KINDS[k.task] = k
    return k


def kind(task: str | None) -> ModelKind:
    "The kind of a card's `task`."
    if task not in KINDS: raise ModelError(f'unknown task {json_safe(task)!r} in the model card.')
    return KINDS[task]


def kind_of(card: dict) -> ModelKind:
    "The kind of a model card."
    return kind(card.get('task'))


def detect_kind(learn) -> ModelKind:
    "The kind of a learner (kinds asked by `priority`), or `ModelError` saying why the apps cannot serve it."
    for k in sorted(KINDS.values(), key=lambda k: -k.priority):
        if k.detect(learn): return k
    nouns = [k.noun or k.task for k in KINDS.values()]
    served = ', '.join(nouns[:-1]) + ' or ' + nouns[-1] if len(nouns) > 1 else ''.join(nouns)
    raise ModelError(f'the learner is none of the kinds the apps serve: {served}.')


def chosen(task: str | None, what: str | None) -> bool:
    "Whether a model of `task` is one that `what` asks for: every model (None), its task, its input or its app (`view`)."
    k = KINDS.get(task)
    return what is None or what == task or (k is not None and what in (k.input.name, k.view))


def kinds_shown_by(view: str) -> list[ModelKind]:
    "The kinds whose models the app `view` shows."
    return [k for k in KINDS.values() if k.view == view]


def views() -> list[str]:
    "The apps that show models, one per view the kinds name, in the order of the registry."
    return list(dict.fromkeys(k.view for k in KINDS.values() if k.view))
