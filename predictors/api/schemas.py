"""The JSON the model server takes and gives, as pydantic models: `/docs` shows them. An answer's model is derived from
its answer type (`predictors.core.results`: the `WIRE` of `Prediction`, `ImageResult`, `Explanation`), which the
remote client (`predictors.service.remote`) reads answers into: one definition for `/v1`, `/docs` and the views.

Fields that an answer leaves out when they do not apply (`error`, `warnings`, `id`, `heatmap_png`)
are optional here; a field an answer type does not declare is refused (`extra='forbid'`).
"""
from __future__ import annotations

from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from predictors.core.written import Continuation
from predictors.core.ranked import RankedItem
from predictors.core.results import Explanation, ImageResult, Prediction

__all__ = ['LimitsOut', 'ModelRow', 'ModelsOut', 'ReadyOut', 'RecordsIn', 'Label', 'LabelsIn', 'PredictionOut',
           'ImageResultOut', 'ExplanationOut', 'RecordsOut', 'ImagesOut', 'ExplanationsOut', 'PredictOut', 'ExplainOut', 'FeedbackResult', 'FeedbackOut', 'Check',
           'ReadyzOut', 'ErrorOut', 'Value', 'LiveOut', 'DriftOut', 'route_doc', 'answer_model']

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
    takes: str | None = Field(None, description="what the model reads (its kind's input): 'records' (JSON records or a "
                                                "CSV), 'texts' (records with a text field) or 'images' (files)")
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


def answer_model(cls, name: str, doc: str) -> type[BaseModel]:
    "The pydantic model of an answer type (`Prediction`, `ImageResult`, `Explanation`): its `to_dict`, as `cls.WIRE` says."
    fields = {f: (t, Field(... if d is ... else d, description=desc)) for f, (t, d, desc) in cls.WIRE.items()}
    return create_model(name, __doc__=doc, __config__=ConfigDict(extra='forbid'), **fields)


PredictionOut = answer_model(Prediction, 'PredictionOut', "One record's answer: the class and every class's probability, "
                             "or the number and its range, or the reason it has none.")
ImageResultOut = answer_model(ImageResult, 'ImageResultOut', "One file's answer, or the reason it was rejected.")
ExplanationOut = answer_model(Explanation, 'ExplanationOut', 'Why one answer: `base` plus the contributions adds up to '
                              '`probability` of `target`.')


RankedItemOut = answer_model(RankedItem, 'RankedItemOut', 'One recommended item, its place and why.')


ContinuationOut = answer_model(Continuation, 'ContinuationOut', 'What comes after a beginning: the continuation and the '
                               'words likeliest to come right after the beginning.')


class GenerateIn(BaseModel):
    "A beginning to write after, and how."
    text: str = Field(description='the beginning')
    words: int | None = Field(None, description="how many tokens to write (fastai's n_words; 0: none, only `next`; "
                                                "default: the card's)")
    temperature: float | None = Field(None, description="0: always the likeliest word; 1: as the model says (default: the card's)")
    seed: int | None = Field(None, description='the same seed writes the same words (default: a new one, in the answer)')
    next: int = Field(5, ge=1, le=1000, description='how many of the likeliest next words to list')
    stream: bool = Field(False, description='a JSON line per token as it is written ({"token", "text"}), then the '
                                            'continuation (application/x-ndjson)')


class Rated(BaseModel):
    item: str | int = Field(description="the item's id")
    rating: float = Field(description='the rating the person gave it, on the model\'s scale')


class RecommendIn(BaseModel):
    "A person: one the model knows (`user`), or a new one by their own `ratings`."
    user: str | int | None = Field(None, description='someone the model knows')
    ratings: list[Rated] | None = Field(None, description='someone new: the items they rated', max_length=10_000)
    top: int = Field(10, ge=1, le=500)
    exclude_seen: bool = Field(True, description='leave out what the person rated')
    where: dict[str, str] | None = Field(None, description="only items whose column holds the value (an items' file "
                                                           'column: {"genres": "Comedy"})')
    exclude: list[str | int] = Field([], description='items to leave out besides those rated (rated since)', max_length=10_000)


class RecommendOut(BaseModel):
    "A ranked list for one person (`Recommendations`)."
    model: str
    version: str
    user: str | None = None
    items: list[RankedItemOut] = []
    folded_in: bool = False
    how: str = ''
    warnings: list[str] = []
    error: str | None = None


class SimilarOut(BaseModel):
    model: str
    version: str
    item: str
    items: list[RankedItemOut]


class FoundItem(BaseModel):
    item: str
    title: str
    ratings: int = Field(description='the ratings of it the model learnt from')
    about: dict[str, str] = {}


class ItemsOut(BaseModel):
    model: str
    version: str
    items: list[FoundItem]


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
    """Live performance, as data: the report (its `measure`: accuracy, error, labels or kept; `answers`: the model's
    answers in the window, of which `labelled` were labelled) and the shadow version's."""
    report: dict[str, Any]
    shadow: dict[str, Any] | None = None


class Traffic(BaseModel):
    bin: str = Field(description="the time bin: 'minute', '5 minutes', 'hour' or 'day'")
    counts: list[tuple[float, int]] = Field(description='[the bin\'s start (Unix seconds), predictions in it]')


class Logged(BaseModel):
    ts: float
    version: str
    source: str
    prediction: str | None = None
    error: str | None = None
    probability: float | None = None


class DriftOut(BaseModel):
    "The drift report, as data: per column its test, PSI and verdict; the traffic; the latest predictions."
    report: dict[str, Any]
    traffic: Traffic | None = None
    latest: list[Logged] = []
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
