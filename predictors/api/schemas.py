"""The JSON the model server takes and gives, as pydantic models: `/docs` shows them, and the remote
client (`predictors.service.remote`) builds its requests and reads the answers with the same models.

Fields that an answer leaves out when they do not apply (`error`, `warnings`, `id`, `heatmap_png`)
are optional here.
"""
from __future__ import annotations

from typing import Any, Union

from pydantic import BaseModel, Field

__all__ = ['LimitsOut', 'ModelRow', 'ModelsOut', 'ReadyOut', 'RecordsIn', 'Label', 'LabelsIn', 'PredictionOut',
           'ImageResultOut', 'ExplanationOut', 'RecordsOut', 'ImagesOut', 'ExplanationsOut', 'PredictOut', 'ExplainOut', 'FeedbackResult', 'FeedbackOut', 'Check',
           'ReadyzOut', 'ErrorOut', 'Value', 'LiveOut', 'DriftOut', 'route_doc']

Value = Union[str, int, float, bool, None]


def route_doc(model, errors: dict, body=None, required: bool = False) -> dict:
    """Route options for the OpenAPI description: `model` documents the JSON answer, `errors` the other answers
    ({status: {'model': …}}), `body` the JSON request that the route reads itself (it also takes other bodies)."""
    out = dict(responses={200: {'model': model}, **errors})
    if body is not None:
        out['openapi_extra'] = {'requestBody': {**({'required': True} if required else {}), 'content': {
            'application/json': {'schema': {'$ref': f'#/components/schemas/{body.__name__}'}}}}}
    return out


class ErrorOut(BaseModel):
    "Every 4xx and 500: the reason in plain words."
    detail: str


class LimitsOut(BaseModel):
    max_image_bytes: int
    max_pixels: int
    max_files: int
    max_upload_bytes: int
    max_json_bytes: int
    max_records: int
    max_explain_records: int
    max_csv_bytes: int


class ModelRow(BaseModel):
    name: str
    task: str | None = None
    takes: str | None = Field(None, description="'records' (JSON records or a CSV) or 'images'")
    active: str | None = None
    versions: list[str] = []


class ModelsOut(BaseModel):
    models: list[ModelRow]
    limits: LimitsOut


class ReadyOut(BaseModel):
    ready: bool
    model: str
    version: str


class RecordsIn(BaseModel):
    "Tabular inputs, one object of column: value per row (a missing column or null is unknown)."
    records: list[dict[str, Value]] = Field(min_length=1)


class Label(BaseModel):
    id: int = Field(description="the answer's `id` from /predict")
    truth: str | list[str] = Field(description='the right class; a multi-label model: the list of right labels '
                                               '([] for none of them), or their text with ";" between them')


class LabelsIn(BaseModel):
    labels: list[Label] = Field(min_length=1)


class PredictionOut(BaseModel):
    "One record's answer: the class and every class's probability, or the reason it has none."
    prediction: str | None = None
    probabilities: dict[str, float] = {}
    warnings: list[str] = []
    error: str | None = None
    id: int | None = None


class ImageResultOut(BaseModel):
    "One file's answer, or the reason it was rejected."
    file: str
    size: int = 0
    prediction: str | None = None
    probability: float | None = None
    unsure: bool | None = Field(None, description='true: the picture is too unlike the training pictures to name a '
                                                 'class (the answer reads "Not sure"); the card says how it is decided')
    probabilities: dict[str, float] = {}
    error: str | None = None
    heatmap_png: str | None = Field(None, description='explain: base64 PNG of where the model looked')
    labels: list[str] | None = Field(None, description='a multi-label model: every label at or above its threshold, '
                                     'the most likely first ([]: none of them); `prediction` is their text')
    heatmaps_png: dict[str, str] | None = Field(None, description='explain, a multi-label model: base64 PNG per label')
    id: int | None = None


class ExplanationOut(BaseModel):
    "Why one answer: `base` plus the contributions adds up to `probability` of `target`."
    target: str | None = None
    probability: float | None = None
    base: float | None = None
    contributions: list[dict[str, Any]] = []
    method: str = ''
    background: str = ''
    warnings: list[str] = []
    error: str | None = None


class RecordsOut(BaseModel):
    "/predict of JSON records: one answer per record, in order."
    model: str
    version: str
    results: list[PredictionOut]


class ImagesOut(BaseModel):
    "/predict and /explain of images: one result per file, in order."
    model: str
    version: str
    results: list[ImageResultOut]


class ExplanationsOut(BaseModel):
    "/explain of JSON records: one explanation per record, in order."
    model: str
    version: str
    results: list[ExplanationOut]


class PredictOut(BaseModel):
    "/predict: records or images."
    model: str
    version: str
    results: list[Union[PredictionOut, ImageResultOut]]


class ExplainOut(BaseModel):
    "/explain: records or images."
    model: str
    version: str
    results: list[Union[ExplanationOut, ImageResultOut]]


class FeedbackResult(BaseModel):
    id: int
    ok: bool | None = None
    error: str | None = None


class FeedbackOut(BaseModel):
    model: str
    results: list[FeedbackResult]


class LiveOut(BaseModel):
    "Live accuracy as the monitor shows it."
    html: str
    shadow: str | None = None


class DriftOut(BaseModel):
    "The drift report as the monitor shows it."
    html: str
    rows: int
    left_out: int
    log: str
    problem: str | None = None


class Check(BaseModel):
    check: str
    ok: bool
    detail: str


class ReadyzOut(BaseModel):
    ready: bool
    checks: list[Check]
