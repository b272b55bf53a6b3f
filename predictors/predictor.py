"""One entry point from the store to a ready predictor, whatever the model's task."""
from __future__ import annotations

import threading

from .store import ModelError, ModelStore

__all__ = ['load_predictor', 'predictor_for_learner', 'learner_task', 'preload']

_CACHE: dict = {}
_LOADING = threading.Lock()


def learner_task(learn) -> str:
    "'tabular' or 'image', from the learner's data (refuses anything else with the reason)."
    ds = getattr(learn.dls, 'train_ds', None)
    if hasattr(ds, 'procs') and hasattr(ds, 'cat_names'):
        if not _has_vocab(learn):
            raise ModelError('the learner predicts a number (regression); the apps serve classifiers.')
        return 'tabular'
    x_pipeline = next(iter(getattr(ds, 'tfms', None) or []), None)   # the input's type transforms
    if x_pipeline is not None and any(getattr(t, 'name', '') == 'PILBase.create' for t in x_pipeline.fs):
        if hasattr(learn.dls, 'vocab'): return 'image'
    raise ModelError('the learner is neither a tabular nor an image classifier, which are the two kinds '
                     'the apps serve.')


def _has_vocab(learn) -> bool:
    try:
        return len(learn.dls.vocab) > 1
    except (AttributeError, TypeError):
        return False


def predictor_for_learner(learn, card: dict | None = None):
    card = card or {}
    task = card.get('task') or learner_task(learn)
    if task == 'tabular':
        from .tabular import TabularPredictor
        return TabularPredictor(learn, card)
    if task == 'image':
        from .image import ImagePredictor
        return ImagePredictor(learn, card)
    raise ModelError(f'unknown task {task!r} in the model card.')


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
