"""The one predictor interface the apps talk to, and its in-process implementation.

`ModelService` is what a view needs: the models and their cards, answers and why, a scored CSV,
feedback, and for operators live performance and drift. Two implementations: `LocalModels` (in this
process: torch, fastai and the store; the default in a notebook) and `predictors.service.remote.RemoteModels` (the
model server over HTTP: a thin app kernel). `connect()` chooses, in one place: the model server
at `$FASTAI_APPS_API` when it is set, else in-process.

Every prediction is logged here, per call, with the caller's session id and source; batch
scoring (a CSV) is logged with the source `<source>:batch` so drift can tell it from form answers.
When the store has a shadow version for a model, answers of its active version (forms, API
records, images; not scored CSV files) are also given by the shadow and logged beside them.
"""
from __future__ import annotations

from typing import BinaryIO, Protocol, runtime_checkable

from predictors.core.imaging import ImageLimits
from predictors.core.settings import Settings
from predictors.core.store import ModelStore

__all__ = ['ModelService', 'connect']


@runtime_checkable
class ModelService(Protocol):
    """What the apps call; `LocalModels` and `RemoteModels` implement it. Its verbs do not depend on what a model
    reads: `predict` and `explain` take a model's inputs as its kind reads them (rows: {column: value} records;
    files: `(name, bytes)` pairs) and answer each in its place."""
    session: str
    where: str
    settings: Settings       # the process's, passed down from where it started (`connect`, the model server)

    def models(self, what: str | None = None) -> list[dict]:
        """One row per model: name, task, takes (what it reads: 'records', 'texts' or 'images'), active version,
        versions (oldest first); `what`: only the models of that task, that read that input, or that app shows."""

    def card(self, name: str, version: str | None = None) -> dict:
        "The model card (the schema the forms are built from)."

    def limits(self) -> ImageLimits:
        "The upload limits for files."

    def check(self, name: str, version: str | None = None) -> None:
        "Raise `ModelError` with the reason when the model cannot be used (its file does not match its card…)."

    def predict(self, name: str, inputs: list, version: str | None = None) -> list:
        """One answer per input (`Prediction` for a row, `ImageResult` for a file); a bad input fails alone. A model
        that reads the other form of input is refused with what to send."""

    def explain(self, name: str, inputs: list, version: str | None = None) -> list:
        """Why each answer: every field's contribution (rows: `Explanation`), or where the model looked (files:
        `ImageResult` with `heatmap`, and `heatmaps` per label of a multi-label answer)."""

    def score_csv(self, name: str, data: bytes, out: BinaryIO, version: str | None = None,
                  progress=None) -> list[str]:
        "Write the scored CSV of `data` (a model of rows) to `out`; return the columns the model does not use."

    def feedback(self, name: str, labels: list[tuple[int, str]]) -> list[str | None]:
        """Store the right answer of answers given in this session, `(answer id, truth)`: per label None,
        or why it was refused (an unknown class, an answer of another session or model)."""

    def live_accuracy(self, name: str, since: str | None = None) -> dict:
        """Operators: the live performance of the active version's labelled answers since `since` ('24h', '7d'…;
        None: all) against the card's, as data: `{"report": as its kind scores it, "shadow": the shadow version's
        report or None}` (`predictors.monitoring.pages.live_html` shows it)."""

    def drift(self, name: str, since: str | None = None, traffic: str = 'single') -> dict:
        """Operators: drift of the logged answers since `since` of one kind of `traffic`, as data: `{"report": the
        drift report, "traffic": predictions per time bin, "latest": the newest predictions, "rows": answers read,
        "left_out": answers of other traffic, "log": where the log is, "problem": why the log cannot be read, or None}`
        (`predictors.monitoring.pages.drift_html` shows it)."""

    def recommend(self, name: str, user=None, ratings=None, top: int = 10, exclude_seen: bool = True,
                  where: dict | None = None, exclude=(), version: str | None = None):
        """A recommender's ranked list (`Recommendations`) for a person it knows (`user`) or a new one placed by their own
        `ratings` ([(item, rating)]): `top` items, none they rated (`exclude_seen`) nor `exclude` (item ids), those whose
        columns match `where`."""

    def similar(self, name: str, item, top: int = 10, version: str | None = None) -> list:
        "A recommender's items nearest `item` (people who liked it also liked), as `RankedItem`s."

    def find_items(self, name: str, text: str, most: int = 20, version: str | None = None) -> list[dict]:
        "A recommender's items whose title holds every word of `text`: [{item, title, ratings, about}]."

    def generate(self, name: str, text: str, words: int | None = None, temperature: float | None = None,
                 seed: int | None = None, version: str | None = None, stop=None, next_k: int = 5):
        """A language model's continuation of `text`, as it is written: yields a `Piece` per token, then the
        `Continuation` (logged: its `id` takes feedback, *kept* or *not useful*; its `next_k` likeliest next words);
        `stop()` true ends it early. The card's words and temperature unless given; the same seed writes the same words."""

    def next_words(self, name: str, text: str, k: int = 5, version: str | None = None):
        "A language model's `k` likeliest next words after `text` (a `Continuation` with `next` only)."

    def preload(self, what: str | None = None) -> None:
        "Get ready before a visitor arrives (in-process: import torch and fastai, load the models `what` asks for)."


def connect(session: str | None = None, source: str = 'app', store=None, log=...,
            settings: Settings | None = None) -> ModelService:
    """The model server at `$FASTAI_APPS_API` when it is set, else the models in this process, logging to `log`
    (default: `$FASTAI_APPS_LOG`, as served; None: not logged, and no answer asks for feedback). The notebook's entry
    point: `settings` default to the environment's, and are passed down to the service."""
    settings = settings or Settings.from_env()
    if settings.api:
        from predictors.service.remote import RemoteModels
        return RemoteModels(settings.api, session=session, source=source, settings=settings)
    from predictors.monitoring.log import PredictionLog
    from predictors.service.loading import LOADED
    from predictors.service.local import LocalModels
    LOADED.configure(settings)
    return LocalModels(store or ModelStore(settings.models), PredictionLog(settings.log, source) if log is ... else log,
                       session=session, source=source, settings=settings)
