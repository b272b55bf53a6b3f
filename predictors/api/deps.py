"""What the routes are given (FastAPI dependencies): the store, the request limits, the models as seen
by the caller (its session id and source, from `X-Session-Id` and `X-Source`)."""
from __future__ import annotations

import re

from fastapi import Header, Request

from predictors.core.imaging import ImageLimits
from predictors.core.settings import Settings
from predictors.api.errors import ApiError
from predictors.core.store import ModelError, ModelStore, UnknownModel
from predictors.kinds import kind_of
from predictors.service.local import LocalModels

__all__ = ['Limits', 'get_store', 'get_limits', 'get_models', 'valid_id', 'card_of', 'predictor_of']

_SOURCE_RE = re.compile(r'^[A-Za-z0-9_.-]{1,32}$')


def valid_id(v: str | None) -> bool:
    "Whether a session id or source header is one the log keeps (letters, digits, `_.-`, at most 32)."
    return bool(v and _SOURCE_RE.match(v))


class Limits:
    "Request limits: the apps' image limits, and JSON and CSV bodies (`Settings`: FASTAI_APPS_MAX_*)."

    def __init__(self, s: Settings = Settings()):
        self.images = ImageLimits.of(s)
        self.json_bytes, self.records = s.max_json_bytes, s.max_records
        self.explain_records, self.csv_bytes = s.max_explain_records, s.max_csv_bytes

    def to_dict(self) -> dict:
        i = self.images
        return dict(max_image_bytes=i.max_bytes, max_pixels=i.max_pixels, max_files=i.max_files,
                    max_upload_bytes=i.max_upload_bytes, max_json_bytes=self.json_bytes, max_records=self.records,
                    max_explain_records=self.explain_records, max_csv_bytes=self.csv_bytes)


def get_store(request: Request) -> ModelStore: return request.app.state.store


def get_limits(request: Request) -> Limits: return request.app.state.limits


def get_models(request: Request, x_session_id: str | None = Header(None), x_source: str | None = Header(None)) -> LocalModels:
    "The models as seen by this caller: predictions logged with its session id and source."
    session = x_session_id if valid_id(x_session_id) else None
    source = x_source if valid_id(x_source) else 'api'
    if source.startswith('app') and request.scope.get('state', {}).get('caller') == 'program':
        source = 'api'                         # only the apps' kernels (the doors' token) log the apps' answers
    return LocalModels(request.app.state.store, request.app.state.log, session=session, source=source,
                       batch_images=request.app.state.batch_images, settings=request.app.state.settings)


def card_of(models: LocalModels, name: str, version: str | None) -> dict:
    try:
        return models.card(name, version)
    except UnknownModel as e:
        raise ApiError(404, str(e).replace(f' at {models.store.root}', '')) from None   # no server paths
    except ModelError as e:             # its card cannot be read: the others are served
        raise ApiError(500, f'model {name} cannot be used: {e}') from None


def predictor_of(models: LocalModels, name: str, version: str | None, form: str):
    "The loaded predictor of a card's version (one that reads inputs of `form`: 'rows' or 'files'); one that cannot be used is a 500."
    card = card_of(models, name, version)
    try:
        kind_of(card).accepts(name, form)
    except ModelError as e:
        raise ApiError(415, str(e)) from None
    try:
        return models.predictor(name, card['version'])
    except UnknownModel as e:
        raise ApiError(404, str(e)) from None
    except ModelError as e:
        raise ApiError(500, f'model {name} {card["version"]} cannot be used: {e}') from None
