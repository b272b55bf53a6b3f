"""The one predictor interface the apps talk to, and its in-process implementation.

`ModelService` is what a view needs: the models and their cards, predictions for form inputs,
a scored CSV, classified images. Two implementations: `LocalModels` (in this process: torch,
fastai and the store; the default in a notebook) and `predictors.service.remote.RemoteModels` (the
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
from predictors.core.results import Explanation, ImageResult, Prediction
from predictors.core.settings import Settings

__all__ = ['ModelService', 'connect']


@runtime_checkable
class ModelService(Protocol):
    "What the apps call; `LocalModels` and `RemoteModels` implement it."
    session: str
    where: str

    def models(self, task: str | None = None) -> list[dict]:
        """One row per model: name, task, takes ('records' or 'images'), active version, versions (oldest first);
        `task`: only the models of that task, or that take those inputs."""

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

    def live_accuracy(self, name: str, since: str | None = None) -> dict:
        """Operators: the live accuracy of the active version's labelled answers since `since` ('24h', '7d'…;
        None: all) against the card's, `{"html": …, "shadow": a line on the shadow version or None}`."""

    def drift(self, name: str, since: str | None = None, traffic: str = 'single', plots: bool = False) -> dict:
        """Operators: drift of the logged answers since `since` of one kind of `traffic`, `{"html": the report
        (charts when `plots`), "rows": answers read, "left_out": answers of other traffic, "log": where the log
        is, "problem": why the log cannot be read, or None}`."""

    def preload(self, task: str | None = None) -> None:
        "Get ready before a visitor arrives (in-process: import torch and fastai, load the models)."


def connect(session: str | None = None, source: str = 'app', store=None, log=...) -> ModelService:
    """The model server at `$FASTAI_APPS_API` when it is set, else the models in this process, logging to
    `log` (default: `$FASTAI_APPS_LOG`, as served; None: not logged, and no answer asks for feedback)."""
    url = Settings.from_env().api
    if url:
        from predictors.service.remote import RemoteModels
        return RemoteModels(url, session=session, source=source)
    from predictors.service.local import LocalModels
    return LocalModels(store, log, session=session, source=source)
