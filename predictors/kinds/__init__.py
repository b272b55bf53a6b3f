"""The kinds of model the apps serve, in one registry: `KINDS` maps a card's `task` to its kind
(`predictors.kinds.base.ModelKind`), which owns everything that differs between kinds. A new kind is
one more module beside these and one more entry here.
"""
from __future__ import annotations

from predictors.core.store import ModelError
from predictors.kinds.base import ModelKind
from predictors.kinds.image import ImageKind
from predictors.kinds.multilabel import MultiLabelKind
from predictors.kinds.regression import RegressionKind
from predictors.kinds.tabular import TabularKind
from predictors.kinds.text import TextKind

__all__ = ['ModelKind', 'KINDS', 'kind', 'detect_kind', 'refuse_other_input', 'takes_of', 'chosen']

# asked in this order: the multi-label kind before the single-label image kind it refines
KINDS: dict[str, ModelKind] = {k.task: k for k in (TabularKind(), RegressionKind(), MultiLabelKind(), ImageKind(),
                                                   TextKind())}


def kind(task: str | None) -> ModelKind:
    "The kind of a card's `task`."
    if task not in KINDS: raise ModelError(f'unknown task {task!r} in the model card.')
    return KINDS[task]


def takes_of(task: str | None) -> str | None:
    "What a model of `task` takes ('records', 'texts' or 'images'); None for a task no kind serves."
    return KINDS[task].takes if task in KINDS else None


def chosen(task: str | None, wanted: str | None) -> bool:
    "Whether a model of `task` is one that `wanted` asks for: its task, or what it takes (None: every model)."
    return wanted in (None, task, takes_of(task))


_SEND = {'records': 'send JSON records or a CSV', 'images': 'send images as multipart/form-data',
         'texts': 'send JSON records with a "text" field, or a CSV with a text column'}
_ALSO = {'records': {'texts'}}     # a text model answers records too: each holds its message in a field


def refuse_other_input(name: str, task: str | None, takes: str) -> None:
    "`ModelError` when model `name` (of `task`) does not take `takes` ('records' or 'images'), saying what to send."
    k = kind(task)
    if k.takes != takes and k.takes not in _ALSO.get(takes, ()):
        raise ModelError(f'{name} is {"an" if k.task[0] in "aeiou" else "a"} {k.task} model: {_SEND[k.takes]}.')


def detect_kind(learn) -> ModelKind:
    "The kind of a learner, or `ModelError` saying why the apps cannot serve it."
    for k in KINDS.values():
        if k.detect(learn): return k
    raise ModelError('the learner is none of the kinds the apps serve: a tabular classifier or regression, a '
                     'single- or multi-label image classifier, or a text classifier.')
