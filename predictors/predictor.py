"""One entry point from the store to a ready predictor, whatever the model's task."""
from __future__ import annotations

import threading

from .kinds import detect_kind, kind
from .store import ModelStore

__all__ = ['load_predictor', 'predictor_for_learner', 'learner_task', 'preload']

_CACHE: dict = {}
_LOADING = threading.Lock()


def learner_task(learn) -> str:
    "'tabular' or 'image', from the learner's data (refuses anything else with the reason)."
    return detect_kind(learn).task


def predictor_for_learner(learn, card: dict | None = None):
    card = card or {}
    return (kind(card['task']) if card.get('task') else detect_kind(learn)).predictor(learn, card)


def load_predictor(name: str, version: str | None = None, store: ModelStore | None = None, cache: bool = True):
    """The predictor of a model in the store (its active version unless `version` is given).

    Predictors are kept per process, keyed by store, name, version and checksum: a version
    registered or activated later is loaded afresh, an unchanged one is not loaded twice.
    """
    store = store or ModelStore()
    card = store.card(name, version)
    key = (str(store.root.resolve()), name, card['version'], card.get('sha256'))
    if cache and key in _CACHE: return _CACHE[key]
    if not cache: return predictor_for_learner(store.load_learner(name, card['version']), card)
    with _LOADING:                      # threads of the model server asking at once load it once
        if key not in _CACHE: _CACHE[key] = predictor_for_learner(store.load_learner(name, card['version']), card)
        return _CACHE[key]


def preload(task: str | None = None, store: ModelStore | None = None) -> list:
    """Import torch and fastai and load the active model of each name (of `task`) ahead of use.

    A preheated Voila kernel calls this before it waits for a visitor; models that fail to load
    are skipped here and reported by the app when it is opened.
    """
    import fastai.learner  # noqa: F401 - the slow import, done before anyone waits for it
    store = store or ModelStore()
    out = []
    for name in store.names(task):
        try: out.append(load_predictor(name, store=store))
        except Exception: pass  # noqa: BLE001
    return out
