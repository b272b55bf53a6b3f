"""The one predictor interface the apps talk to, and its in-process implementation.

`ModelService` is what a view needs: the models and their cards, predictions for form inputs,
a scored CSV, classified images. Two implementations: `LocalModels` (in this process: torch,
fastai and the store; the default in a notebook) and `predictors.client.RemoteModels` (the
model server over HTTP: a thin app kernel). `connect()` chooses, in one place: the model server
at `$FASTAI_APPS_API` when it is set, else in-process.

Every prediction is logged here, per call, with the caller's session id and source; batch
scoring (a CSV) is logged with the source `<source>:batch` so drift can tell it from form answers.
When the store has a shadow version for a model, answers of its active version (forms, API
records, images; not scored CSV files) are also given by the shadow and logged beside them.
"""
from __future__ import annotations

import itertools
import os
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from typing import BinaryIO, Protocol, runtime_checkable

from .imaging import ImageLimits
from .results import Explanation, ImageResult, Prediction
from .store import ModelError, ModelStore

__all__ = ['ModelService', 'LocalModels', 'connect', 'ScoredCsv', 'BatchQueue', 'model_rows', 'API_ENV']

API_ENV = 'FASTAI_APPS_API'


@runtime_checkable
class ModelService(Protocol):
    "What the apps call; `LocalModels` and `RemoteModels` implement it."
    session: str
    where: str

    def models(self, task: str | None = None) -> list[dict]:
        "One row per model: name, task, active version, versions (oldest first)."

    def card(self, name: str, version: str | None = None) -> dict:
        "The model card (the schema the forms are built from)."

    def limits(self) -> ImageLimits:
        "The upload limits for images."

    def check(self, name: str, version: str | None = None) -> None:
        "Raise `ModelError` with the reason when the model cannot be used (its file does not match its card…)."

    def predict(self, name: str, records: list[dict], version: str | None = None) -> list[Prediction]:
        "One answer per input given as {column: value} (tabular models)."

    def score_csv(self, name: str, data: bytes, out: BinaryIO, version: str | None = None,
                  progress=None) -> list[str]:
        "Write the scored CSV of `data` to `out`; return the columns the model does not use."

    def classify(self, name: str, files: list[tuple[str, bytes]], version: str | None = None) -> list[ImageResult]:
        "One result per `(name, bytes)` file (image models); each bad file fails alone."

    def explain(self, name: str, records: list[dict], version: str | None = None) -> list[Explanation]:
        "Why each answer: every field's contribution to the predicted class's probability (tabular models)."

    def feedback(self, name: str, labels: list[tuple[int, str]]) -> list[str | None]:
        """Store the right class of answers given in this session, `(answer id, class)`: per label None,
        or why it was refused (an unknown class, an answer of another session or model)."""

    def explain_images(self, name: str, files: list[tuple[str, bytes]], version: str | None = None) -> list[ImageResult]:
        "One result per file with `heatmap` (PNG: where the model looked for its top class) (image models)."

    def preload(self, task: str | None = None) -> None:
        "Get ready before a visitor arrives (in-process: import torch and fastai, load the models)."


def connect(session: str | None = None, source: str = 'app', store=None, log=None) -> ModelService:
    "The model server at `$FASTAI_APPS_API` when it is set, else the models in this process."
    url = os.environ.get(API_ENV)
    if url:
        from .client import RemoteModels
        return RemoteModels(url, session=session, source=source)
    return LocalModels(store, log, session=session, source=source)


def model_rows(store: ModelStore, task: str | None = None) -> list[dict]:
    "The store's models as `ModelService.models` rows."
    return [dict(name=n, task=store.card(n).get('task'), active=store.active_version(n), versions=store.versions(n))
            for n in store.names(task)]


class LocalModels:
    """The models of a store, in this process; predictions logged to `log` (None: not logged).

    `batch_images=True` (the model server) makes concurrent `classify` calls share forward passes.
    """
    where = 'in-process'

    def __init__(self, store: ModelStore | None = None, log=..., session: str | None = None, source: str = 'app',
                 batch_images: bool = False, log_inputs: str | None = None):
        from .drift import LOGGED_INPUTS
        self.log_inputs = log_inputs or os.environ.get('FASTAI_APPS_LOG_INPUTS') or 'raw'
        if self.log_inputs not in LOGGED_INPUTS:
            raise ValueError(f'FASTAI_APPS_LOG_INPUTS must be one of {", ".join(LOGGED_INPUTS)}, not {self.log_inputs!r}')
        if log is ...:
            from .monitor import PredictionLog
            log = PredictionLog(source=source)
        self.store, self.log = store or ModelStore(), log
        self.session, self.source = session or uuid.uuid4().hex[:12], source
        self.batch_images = batch_images

    def predictor(self, name: str, version: str | None = None, task: str | None = None):
        "The loaded predictor (cached per process); `task` refuses a model of another kind."
        from .predictor import load_predictor
        pred = load_predictor(name, version, store=self.store)
        if task and pred.task != task:
            raise ModelError(f'{name} is an {pred.task} model: ' +
                             ('send images.' if pred.task == 'image' else 'send records or a CSV.'))
        return pred

    def models(self, task=None): return model_rows(self.store, task)

    def card(self, name, version=None): return self.store.card(name, version)

    def limits(self): return ImageLimits.from_env()

    def check(self, name, version=None): self.predictor(name, version)

    def preload(self, task=None):
        from .predictor import preload
        preload(task, self.store)

    def _record(self, pred, entries: list[dict], batch: bool = False, results=None) -> None:
        """Log `entries`; with `log_inputs='bins'` their inputs as drift's bins only (no raw value is stored).
        `results` (one per entry) get their log ids, for feedback."""
        if self.log is None: return
        if self.log_inputs == 'bins':
            from .drift import coarsen
            entries = [dict(e, inputs=c) for e, c in zip(entries, coarsen(pred.card, [e.get('inputs') or {} for e in entries]))]
        source = f'{self.source}:batch' if batch else self.source
        ids = self.log.record(pred.name, pred.version, pred.task, entries, session=self.session, source=source,
                              ids=results is not None)
        if results is not None:
            for r, i in zip(results, ids or []): r.id = i

    def _shadow(self, pred, shown: list, answer) -> None:
        """When `pred` is the active version and the store names a shadow version, `answer(shadow
        predictor)` gives its answers to the same inputs, logged beside `shown`. Never fails the call."""
        if self.log is None: return
        try:
            version = self.store.shadow_version(pred.name)
            if version is None or pred.version != self.store.active_version(pred.name): return
            got = answer(self.predictor(pred.name, version, pred.task))
            self.log.record_shadow(pred.name, version, [r.id for r in shown],
                                   [dict(prediction=g.prediction, probabilities=g.probabilities, error=g.error) for g in got])
        except Exception as e:  # noqa: BLE001 - the shadow never costs a visitor their answer
            import warnings
            warnings.warn(f'the shadow version of {pred.name} could not answer: {type(e).__name__}: {e}', RuntimeWarning)

    def feedback(self, name, labels, any_session: bool = False) -> list[str | None]:
        """As `ModelService.feedback`; `any_session=True` (labels that arrive later, from the CLI or a
        program) may label any answer of the model."""
        if self.log is None: raise ModelError('predictions are not logged here, so there is nothing to label.')
        classes = self.card(name).get('classes') or []
        ok = [(i, t) for i, t in labels if str(t) in classes]
        stored = iter(self.log.add_feedback(name, ok, session=self.session, source=self.source,
                                            own_session=None if any_session else self.session))
        return [next(stored) if str(t) in classes else
                f'{t!r} is not one of the classes of {name} ({", ".join(map(str, classes))})' for _, t in labels]

    # ---- tabular --------------------------------------------------------------------------
    def predict(self, name, records, version=None) -> list[Prediction]:
        pred = self.predictor(name, version, 'tabular')
        res = pred.predict_records(records)
        out = list(res)
        rows = [{c['name']: r.get(c['name']) for c in pred.inputs} for r in records]
        self._record(pred, tabular_entries(rows, out, res.seconds), results=out)
        self._shadow(pred, out, lambda shadow: list(shadow.predict_records(records)))
        return out

    def _record_frame(self, pred, df, res, slice_rows: int = 5000) -> None:
        """Log the predictions `res` of a DataFrame's rows as batch, `slice_rows` at a time: the log's
        entries (a dict per row) never hold a whole chunk of a large file at once."""
        cols = [c['name'] for c in pred.inputs]
        per_row = res.seconds / max(1, len(df))
        for s in range(0, len(df), slice_rows):
            rows = df[cols].iloc[s:s + slice_rows].to_dict('records')
            preds = [res[i] for i in range(s, s + len(rows))]
            self._record(pred, tabular_entries(rows, preds, per_row * len(rows)), batch=True)

    def predict_frame(self, name, df, version=None):
        "Predictions of a DataFrame's rows (a `BatchResult`), logged as batch (the CLI)."
        pred = self.predictor(name, version, 'tabular')
        res = pred.predict_frame(df)
        self._record_frame(pred, df, res)
        return res

    def scored_csv(self, name, src, version=None, progress=None, chunksize=None) -> 'ScoredCsv':
        "The scored CSV of `src` (a path or bytes) as a stream of bytes; rows logged as batch."
        pred = self.predictor(name, version, 'tabular')
        record = None if self.log is None else lambda df, res: self._record_frame(pred, df, res)
        return ScoredCsv(pred, src, progress=progress, record=record, **({'chunksize': chunksize} if chunksize else {}))

    def score_csv(self, name, data, out, version=None, progress=None) -> list[str]:
        scored = self.scored_csv(name, data, version, progress)
        for block in scored: out.write(block)
        return scored.unused

    def explain(self, name, records, version=None) -> list[Explanation]:
        from .explain import explainer_for
        return explainer_for(self.predictor(name, version, 'tabular')).explain_records(records)

    def explain_frame(self, name, df, version=None) -> list[Explanation]:
        "Explanations of a DataFrame's rows (the CLI)."
        from .explain import explainer_for
        return explainer_for(self.predictor(name, version, 'tabular')).explain_frame(df)

    # ---- images ---------------------------------------------------------------------------
    def explain_images(self, name, files, version=None) -> list[ImageResult]:
        from .explain import explainer_for
        pred = self.predictor(name, version, 'image')
        results = pred.decode_files(files)
        explainer_for(pred).explain_results(results)
        for r in results: r.image = None
        return results

    def classify(self, name, files, version=None) -> list[ImageResult]:
        pred = self.predictor(name, version, 'image')
        t0 = time.perf_counter()
        results = pred.decode_files(files)
        good = [r for r in results if r.ok]
        forward = _queue_for(pred) if self.batch_images else pred.predict_images
        if good: pred.fill(good, forward([r.image for r in good]))
        per = (time.perf_counter() - t0) * 1000 / max(1, len(good))
        self._record(pred, [dict(inputs=dict(file=r.name, size=r.size, **r.stats), prediction=r.prediction,
                                 probabilities=r.probabilities, latency_ms=round(per, 3) if r.ok else None,
                                 error=r.error) for r in results], results=results)
        self._shadow(pred, results, lambda shadow: _shadow_images(shadow, results))
        return results


def _shadow_images(shadow, results: list[ImageResult]) -> list[ImageResult]:
    "A shadow image predictor's answers for the images already decoded in `results`."
    out = [ImageResult(name=r.name, size=r.size, error=r.error) for r in results]
    good = [(o, r) for o, r in zip(out, results) if r.ok]
    if good: shadow.fill([o for o, _ in good], shadow.predict_images([r.image for _, r in good]))
    return out


def tabular_entries(rows: list[dict], preds: list[Prediction], seconds: float) -> list[dict]:
    "Log entries for tabular inputs and their predictions (latency: the call's time per row)."
    per = seconds * 1000 / max(1, len(preds))
    return [dict(inputs=r, prediction=p.prediction, probabilities=p.probabilities,
                 latency_ms=None if p.error else round(per, 3), error=p.error) for r, p in zip(rows, preds)]


class ScoredCsv:
    """A CSV (path or bytes) scored chunk by chunk: bounded memory whatever its size.

    The first chunk is read at once, so a file that cannot be read or lacks a column the model
    needs raises `ModelError` here, and `unused` (columns the model does not read) is known before
    any output. Iterating yields the scored CSV's bytes (header first): the input's columns,
    `prediction`, `probability_<class>` and `problem`. `rows` and `failed` count as it goes;
    `record(chunk, predictions)` is called for each chunk.
    """

    def __init__(self, pred, src, chunksize: int | None = None, progress=None, record=None):
        from .tabular import CSV_CHUNK, iter_csv_checked
        self.pred, self.record = pred, record
        self.bad_lines: list = []            # (line, why) of lines skipped as malformed, as they are met
        self._chunks = iter_csv_checked(src, chunksize or CSV_CHUNK, progress, bad_lines=self.bad_lines)
        first = next(self._chunks)
        pred.require_columns(first.columns, 'the CSV')
        self.unused = pred.unused_columns(first.columns)
        self._first, self.rows, self.failed = first, 0, 0

    def __iter__(self):
        import pandas as pd
        header, told, columns = True, 0, None
        for df in itertools.chain([self._first], self._chunks):
            res = self.pred.predict_frame(df)
            if self.record: self.record(df, res)
            self.rows += len(df); self.failed += len(res.errors)
            out = self.pred.score_frame(df, res)
            columns = out.columns
            block, told = self._with_bad_lines(out, told)
            yield block.to_csv(index=False, header=header).encode()
            header = False
        if told < len(self.bad_lines) and columns is not None:        # malformed lines after the last rows
            block, told = self._with_bad_lines(pd.DataFrame(columns=columns), told)
            yield block.to_csv(index=False, header=False).encode()
        self._first = None

    def _with_bad_lines(self, out, told: int):
        "`out` followed by a row per malformed line met since `told` (empty inputs, the reason in `problem`)."
        import pandas as pd
        from .results import ERROR_PREFIX
        new = self.bad_lines[told:]
        if not new: return out, told
        rows = pd.DataFrame({c: [None] * len(new) for c in out.columns})
        rows['problem'] = [ERROR_PREFIX + why for _, why in new]
        self.rows += len(new); self.failed += len(new)
        return pd.concat([out, rows], ignore_index=True), told + len(new)


class BatchQueue:
    """Calls of `fn(items) -> rows` that arrive together share one call: each caller blocks until
    its rows are back. A worker thread takes what is queued (up to `max_items`, waiting at most
    `max_wait` s for more), so while one forward pass runs the next batch gathers."""

    def __init__(self, fn, max_items: int = 64, max_wait: float = 0.002):
        self.fn, self.max_items, self.max_wait = fn, max_items, max_wait
        self._q: queue.Queue = queue.Queue()
        threading.Thread(target=self._run, daemon=True, name='batch-queue').start()

    def __call__(self, items: list):
        fut: Future = Future()
        self._q.put((list(items), fut))
        return fut.result()

    def _run(self):
        while True:
            batch = [self._q.get()]
            n, end = len(batch[0][0]), time.monotonic() + self.max_wait
            while n < self.max_items:
                try: nxt = self._q.get(timeout=max(0.0, end - time.monotonic()))
                except queue.Empty: break
                batch.append(nxt); n += len(nxt[0])
            try:
                out = self.fn([x for items, _ in batch for x in items])
            except Exception as e:  # noqa: BLE001 - every waiting caller gets the failure
                for _, fut in batch: fut.set_exception(e)
                continue
            i = 0
            for items, fut in batch:
                fut.set_result(out[i:i + len(items)]); i += len(items)


_QUEUES: dict = {}
_QUEUES_LOCK = threading.Lock()


def _queue_for(pred) -> BatchQueue:
    "One batch queue per loaded image predictor."
    with _QUEUES_LOCK:
        q = _QUEUES.get(id(pred))
        if q is None or q.fn.__self__ is not pred:
            q = _QUEUES[id(pred)] = BatchQueue(pred.predict_images, max_items=pred.batch_size)
        return q
