"""From the store to a ready predictor, whatever the model's kind, loaded once per process.

`LOADED` (a `PredictorCache`) owns every loaded version of this process: the predictor, and what is
made for it on first use (its explainer, its batch queue). It keeps the `max_items` most recently
used versions and closes what it evicts, so a server that serves many versions over time does not
keep them all.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from predictors.core.imaging import ImageLimits
from predictors.core.settings import Settings
from predictors.core.store import ModelStore
from predictors.kinds import chosen, detect_kind, kind
from predictors.service.batching import BatchQueue

__all__ = ['Loaded', 'PredictorCache', 'LOADED', 'load_predictor', 'predictor_for_learner', 'preload', 'smoke']


def predictor_for_learner(learn, card: dict | None = None, limits: ImageLimits | None = None, files: dict | None = None):
    """The predictor of a learner, of the kind its card names (else the kind it is recognised as); `limits`: of uploads;
    `files`: the data files kept beside it ({name: path})."""
    card = card or {}
    return (kind(card['task']) if card.get('task') else detect_kind(learn)).predictor(learn, card, limits, files)


class Loaded:
    "One loaded model version: its predictor, and its explainer and batch queue once asked for."

    def __init__(self, pred):
        self.pred = pred
        self._explainer = self._queue = None
        self._lock = threading.Lock()

    def explainer(self):
        "The kind's explainer of this predictor (made once)."
        with self._lock:
            if self._explainer is None: self._explainer = kind(self.pred.task).explainer(self.pred)
            return self._explainer

    def queue(self) -> BatchQueue | None:
        """Concurrent requests share forward passes through this queue (made once), for a predictor that has a
        forward pass to share (`forward_shared`); None for one that has not."""
        if self.pred.forward_shared is None: return None
        with self._lock:
            if self._queue is None:
                self._queue = BatchQueue(self.pred.forward_shared, max_items=self.pred.batch_size)
            return self._queue

    def close(self) -> None:
        "Stop the batch queue's thread; the predictor itself is freed once nobody uses it."
        with self._lock:
            if self._queue is not None: self._queue.close(); self._queue = None


class PredictorCache:
    """Loaded versions keyed by store, name, version and checksum: a version registered or activated
    later is loaded afresh, an unchanged one is not loaded twice. At most `max_items` are kept; the predictors
    check uploads against `limits`. Both are the process's settings (`configure`, by the entry point)."""

    def __init__(self, max_items: int = Settings.max_loaded, limits: ImageLimits | None = None):
        self.max_items, self.limits = max_items, limits or ImageLimits()
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def configure(self, settings: Settings) -> None:
        "Keep at most `settings.max_loaded` versions; predictors loaded from now on check uploads against its limits."
        self.max_items, self.limits = settings.max_loaded, ImageLimits.of(settings)

    def get(self, store: ModelStore, name: str, version: str | None = None) -> Loaded:
        card = store.card(name, version)
        key = (str(store.root.resolve()), name, card['version'], card.get('sha256'))
        with self._lock:                     # threads of the model server asking at once load it once
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            learn = store.load_learner(name, card['version'])
            entry = self._items[key] = Loaded(predictor_for_learner(learn, card, self.limits, store.files(name, card['version'])))
            while len(self._items) > self.max_items: self._items.popitem(last=False)[1].close()
            return entry

    def clear(self) -> None:
        "Close and forget every loaded version."
        with self._lock:
            for entry in self._items.values(): entry.close()
            self._items.clear()

    def __len__(self): return len(self._items)


LOADED = PredictorCache()


def load_predictor(name: str, store: ModelStore, version: str | None = None, cache: bool = True):
    "The predictor of a model in `store` (its active version unless `version` is given), from `LOADED`."
    if cache: return LOADED.get(store, name, version).pred
    card = store.card(name, version)
    return predictor_for_learner(store.load_learner(name, card['version']), card, LOADED.limits,
                                 store.files(name, card['version']))


def preload(what: str | None, store: ModelStore) -> list:
    """Import torch and fastai and load the active model of each name (those `what` asks for: a task, an input or an
    app, as `chosen` reads it) ahead of use.

    A preheated kernel or the model server calls this before anyone waits; models that fail to
    load are skipped here and reported when they are asked for.
    """
    import fastai.learner  # noqa: F401 - the slow import, done before anyone waits for it
    out = []
    for name in store.names():
        if not chosen(store.card(name).get('task'), what): continue
        try: out.append(load_predictor(name, store=store))
        except Exception: pass  # noqa: BLE001
    return out


def smoke(pred) -> str:
    "One prediction from nothing but the model (its kind's smoke test); returns a short text."
    return kind(pred.task).smoke(pred)
