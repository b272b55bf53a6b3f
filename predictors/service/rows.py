"""The models of a store as the service lists them (`ModelService.models`): a row each, what it reads and its versions."""
from __future__ import annotations

import warnings

from predictors.core.store import ModelError, ModelStore
from predictors.kinds import KINDS, chosen

__all__ = ['model_rows']


def model_rows(store: ModelStore, what: str | None = None) -> list[dict]:
    """The store's models as `ModelService.models` rows; `what`: only those of that task, that read that input, or
    that app shows (`chosen`). A model whose card cannot be read is left out with a warning (the others are served;
    asking for it says why)."""
    tasks = {}
    for n in store.names():
        try:
            tasks[n] = store.card(n).get('task')
        except ModelError as e:
            warnings.warn(f'{n} is not served: {e}', RuntimeWarning, stacklevel=2)
    return [dict(name=n, task=t, takes=KINDS[t].input.name if t in KINDS else None, active=store.active_version(n),
                 versions=store.versions(n)) for n, t in tasks.items() if chosen(t, what)]
