"""The kinds of model the apps serve, in one registry: `KINDS` maps a card's `task` to its kind
(`predictors.kinds.base.ModelKind`), which owns everything that differs between kinds. A new kind is
one more module beside these and one more entry here.
"""
from __future__ import annotations

from predictors.core.store import ModelError
from predictors.kinds.base import ModelKind
from predictors.kinds.image import ImageKind
from predictors.kinds.tabular import TabularKind

__all__ = ['ModelKind', 'KINDS', 'kind', 'detect_kind']

KINDS: dict[str, ModelKind] = {k.task: k for k in (TabularKind(), ImageKind())}


def kind(task: str | None) -> ModelKind:
    "The kind of a card's `task`."
    if task not in KINDS: raise ModelError(f'unknown task {task!r} in the model card.')
    return KINDS[task]


def detect_kind(learn) -> ModelKind:
    "The kind of a learner, or `ModelError` saying why the apps cannot serve it."
    for k in KINDS.values():
        if k.detect(learn): return k
    raise ModelError('the learner is neither a tabular nor an image classifier, which are the two kinds '
                     'the apps serve.')
