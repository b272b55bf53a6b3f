"""The model server: one process that loads each model once and answers every app and program over HTTP.

`python -m predictors api [--host] [--port] [--workers]` serves `create_app()` with uvicorn;
the OpenAPI schema is at `/openapi.json` and interactive docs at `/docs`. The store and the
prediction log come from the environment (`FASTAI_APPS_MODELS`, `FASTAI_APPS_LOG`) or are
given to `create_app`. Every request reads the store's active version, so a version
registered or activated later is served without a restart. Every prediction is logged here
(one writer), with the caller's `X-Session-Id` and `X-Source` headers.

    GET  /v1/models                      the models (name, task, active version, versions) and upload limits
    GET  /v1/models/{name}[?version=]    the model card, with the schema the forms are built from
    GET  /v1/models/{name}/ready         the version loads and can answer (500 with the reason if not)
    POST /v1/models/{name}/predict       JSON {"records": [...]} -> one result per record
                                         text/csv -> the scored CSV, streamed
                                         multipart images ("files") -> one result per image [?top=k]
    POST /v1/models/{name}/explain       JSON {"records": [...]} -> why: each field's contribution
                                         multipart images ("files") -> each with a heatmap PNG (base64)
    POST /v1/models/{name}/feedback      JSON {"labels": [{"id": answer id, "truth": class}, ...]}
    GET  /healthz                        the process is up
    GET  /readyz                         the store is readable and every active model loads and answers
"""
from __future__ import annotations

import json
import math
import os
import re
import tempfile
import threading
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from .monitor import PredictionLog
from .results import STREAM_ERROR, upload_name
from .service import LocalModels, model_rows
from .store import ModelError, ModelStore, UnknownModel

__all__ = ['create_app', 'ApiError', 'Limits']

_SOURCE_RE = re.compile(r'^[A-Za-z0-9_.-]{1,32}$')


class ApiError(Exception):
    "A request that cannot be answered: `status` and a plain-English `reason` (sent as JSON)."

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class Limits:
    "Request limits: the apps' image limits, and JSON and CSV bodies (env: FASTAI_APPS_MAX_*)."

    def __init__(self, env=None):
        from .imaging import ImageLimits
        env = os.environ if env is None else env
        self.images = ImageLimits.from_env(env)
        self.json_bytes = int(env.get('FASTAI_APPS_MAX_JSON_BYTES') or 10 * 2**20)
        self.records = int(env.get('FASTAI_APPS_MAX_RECORDS') or 10_000)
        self.explain_records = int(env.get('FASTAI_APPS_MAX_EXPLAIN_RECORDS') or 200)
        self.csv_bytes = int(env.get('FASTAI_APPS_MAX_CSV_BYTES') or 2**30)

    def to_dict(self) -> dict:
        i = self.images
        return dict(max_image_bytes=i.max_bytes, max_pixels=i.max_pixels, max_files=i.max_files,
                    max_upload_bytes=i.max_upload_bytes, max_json_bytes=self.json_bytes, max_records=self.records,
                    max_explain_records=self.explain_records, max_csv_bytes=self.csv_bytes)


# ---- dependencies -----------------------------------------------------------------------------
def get_store(request: Request) -> ModelStore: return request.app.state.store


def get_limits(request: Request) -> Limits: return request.app.state.limits


def get_models(request: Request, x_session_id: str | None = Header(None), x_source: str | None = Header(None)) -> LocalModels:
    "The models as seen by this caller: predictions logged with its session id and source."
    session = x_session_id if x_session_id and _SOURCE_RE.match(x_session_id) else None
    source = x_source if x_source and _SOURCE_RE.match(x_source) else 'api'
    return LocalModels(request.app.state.store, request.app.state.log, session=session, source=source,
                       batch_images=request.app.state.batch_images)


def _card(models: LocalModels, name: str, version: str | None) -> dict:
    try:
        return models.card(name, version)
    except UnknownModel as e:
        raise ApiError(404, str(e).replace(f' at {models.store.root}', '')) from None   # no server paths


def _predictor(models: LocalModels, name: str, version: str | None, task: str):
    "The loaded predictor of a card's version; a model that cannot be used is the server's problem (500)."
    card = _card(models, name, version)
    if card.get('task') != task:
        raise ApiError(415, f'{name} is an {card.get("task")} model: ' +
                       ('send images as multipart/form-data.' if card.get('task') == 'image' else
                        'send JSON records or a CSV.'))
    try:
        return models.predictor(name, card['version'], task)
    except UnknownModel as e:
        raise ApiError(404, str(e)) from None
    except ModelError as e:
        raise ApiError(500, f'model {name} {card["version"]} cannot be used: {e}') from None


# ---- routes -----------------------------------------------------------------------------------
router = APIRouter(prefix='/v1')


@router.get('/models', summary='The models and the upload limits')
def list_models(store: ModelStore = Depends(get_store), limits: Limits = Depends(get_limits)):
    return dict(models=model_rows(store), limits=limits.to_dict())


@router.get('/models/{name}', summary="A model's card (its active version unless `version` is given)")
def get_card(name: str, version: str | None = None, models: LocalModels = Depends(get_models)):
    return _card(models, name, version)


@router.get('/models/{name}/ready', summary='The model version loads and can answer (500 with the reason if not)')
def model_ready(name: str, version: str | None = None, models: LocalModels = Depends(get_models)):
    card = _card(models, name, version)
    _predictor(models, name, card['version'], card.get('task'))
    return dict(ready=True, model=name, version=card['version'])


@router.post('/models/{name}/predict', summary='Predict JSON records, a CSV, or images', responses={
    200: {'content': {'application/json': {}, 'text/csv': {}},
          'description': 'JSON: one result per record or image. CSV: the scored CSV (the input\'s columns, '
                         '`prediction`, `probability_<class>`, `problem`), streamed.'}})
async def predict(name: str, request: Request, version: str | None = None,
                  top: int = Query(0, ge=0, description='images: the classes given per image (0: all)'),
                  models: LocalModels = Depends(get_models), limits: Limits = Depends(get_limits)):
    """Send `application/json` `{"records": [{column: value, ...}, ...]}`, a `text/csv` body, or
    `multipart/form-data` with image files under `files`. Bad records, rows and files fail alone."""
    ctype = request.headers.get('content-type', '').split(';')[0].strip().lower()
    if ctype == 'application/json': return await _predict_json(name, version, request, models, limits)
    if ctype in ('text/csv', 'application/csv'): return await _predict_csv(name, version, request, models, limits)
    if ctype == 'multipart/form-data': return await _predict_images(name, version, top, request, models, limits)
    raise ApiError(415, f'unsupported content type {ctype or "(none)"!r}: send application/json records, '
                        'a text/csv file or multipart/form-data images.')


async def _body(request: Request, limit: int, what: str) -> bytes:
    "The request body, refused with 413 as soon as it passes `limit` bytes."
    _check_length(request, limit, what)
    chunks, n = [], 0
    async for chunk in request.stream():
        n += len(chunk)
        if n > limit: raise ApiError(413, f'{what} is over the limit of {_mb(limit)}.')
        chunks.append(chunk)
    return b''.join(chunks)


def _check_length(request: Request, limit: int, what: str) -> None:
    n = request.headers.get('content-length')
    if n and n.isdigit() and int(n) > limit: raise ApiError(413, f'{what} is over the limit of {_mb(limit)}.')


def _mb(n: int) -> str: return f'{n / 2**20:.0f} MB' if n >= 2**20 else f'{n} bytes'


@router.post('/models/{name}/explain', summary='Why: the contribution of each field, or a heatmap per image')
async def explain(name: str, request: Request, version: str | None = None,
                  models: LocalModels = Depends(get_models), limits: Limits = Depends(get_limits)):
    """Send `application/json` `{"records": [...]}` (tabular: per record the predicted class, its
    probability, the base value and each field's contribution, which add up to the probability) or
    `multipart/form-data` images under `files` (per image the prediction and `heatmap_png`, base64:
    where the model looked for its top class). Bad records and files fail alone."""
    ctype = request.headers.get('content-type', '').split(';')[0].strip().lower()
    if ctype == 'application/json':
        pred = await run_in_threadpool(_predictor, models, name, version, 'tabular')
        records = await _records(request, pred, limits, limits.explain_records, 'each is scored thousands of times: split them over requests')
        out = await run_in_threadpool(models.explain, name, records, pred.version)
        return dict(model=name, version=pred.version, results=[e.to_dict() for e in out])
    if ctype == 'multipart/form-data':
        pred = await run_in_threadpool(_predictor, models, name, version, 'image')
        files = await _files(request, limits)
        out = await run_in_threadpool(models.explain_images, name, files, pred.version)
        return dict(model=name, version=pred.version, results=[r.to_dict() for r in out])
    raise ApiError(415, f'unsupported content type {ctype or "(none)"!r}: send application/json records '
                        'or multipart/form-data images.')


@router.post('/models/{name}/feedback', summary='The right class of answers given earlier (their `id`)')
async def feedback(name: str, request: Request, models: LocalModels = Depends(get_models),
                   limits: Limits = Depends(get_limits), x_session_id: str | None = Header(None)):
    """Send `{"labels": [{"id": 123, "truth": "<class>"}, ...]}`: `id` is the answer's `id` from
    `/predict`. With an `X-Session-Id` header only answers given in that session can be labelled
    (an app labels its own visitor's answers); without one, any answer of the model. Per label
    `{"id": …, "ok": true}` or its `error`."""
    card = _card(models, name, None)
    labels = await _json_list(request, limits, 'labels', '{"labels": [{"id": answer id, "truth": class}, ...]}',
                              'label', limits.records)
    pairs = []
    for i, lab in enumerate(labels):
        if not (isinstance(lab, dict) and isinstance(lab.get('id'), int) and isinstance(lab.get('truth'), str)):
            raise ApiError(422, f'label {i + 1}: send {{"id": an integer, "truth": one of {card.get("classes")}}}.')
        pairs.append((lab['id'], lab['truth']))
    own = bool(x_session_id and _SOURCE_RE.match(x_session_id))
    out = await run_in_threadpool(models.feedback, name, pairs, not own)
    return dict(model=name, results=[dict(id=i, ok=True) if e is None else dict(id=i, error=e)
                                     for (i, _), e in zip(pairs, out)])


async def _predict_json(name, version, request, models, limits):
    pred = await run_in_threadpool(_predictor, models, name, version, 'tabular')
    records = await _records(request, pred, limits, limits.records, 'send a CSV for more: it is scored as a stream')
    out = await run_in_threadpool(models.predict, name, records, pred.version)
    return dict(model=name, version=pred.version, results=[p.to_dict() for p in out])


async def _json_list(request, limits, key: str, example: str, what: str, most: int, instead: str = '') -> list:
    "The JSON body's list `{key: [...]}` (or a bare list): at least one `what`, at most `most`."
    raw = await _body(request, limits.json_bytes, 'the JSON body')
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, f'the body is not valid JSON: {e}.') from None
    items = body.get(key) if isinstance(body, dict) else body
    if not isinstance(items, list) or not items: raise ApiError(422, f'send {example} with at least one {what}.')
    if len(items) > most:
        raise ApiError(413, f'{len(items)} {what}s in one request; at most {most}' + (f' ({instead})' if instead else '') + '.')
    return items


async def _records(request, pred, limits, most: int, instead: str) -> list[dict]:
    "The request's JSON records, checked against the model's columns: at most `most` of them."
    records = await _json_list(request, limits, 'records', '{"records": [{column: value, ...}, ...]}', 'record',
                               most, instead)
    known = [c['name'] for c in pred.inputs]
    for i, r in enumerate(records):
        if not isinstance(r, dict): raise ApiError(422, f'record {i + 1} is not an object of column: value.')
        unknown = [k for k in r if k not in known]
        if unknown:
            raise ApiError(422, f'record {i + 1}: unknown column{"s" if len(unknown) > 1 else ""} '
                                f'{", ".join(map(repr, unknown))}; the model reads {", ".join(known)}.')
        for k, v in r.items():
            if not (v is None or isinstance(v, (str, int, float, bool))):
                raise ApiError(422, f'record {i + 1}: {k} is {type(v).__name__}, not a number or a text.')
            if isinstance(v, float) and not math.isfinite(v): r[k] = None
    return records


async def _predict_csv(name, version, request, models, limits):
    pred = await run_in_threadpool(_predictor, models, name, version, 'tabular')
    _check_length(request, limits.csv_bytes, 'the CSV')
    fd, path = tempfile.mkstemp(prefix='fastai-apps-', suffix='.csv')
    try:
        n = 0
        with os.fdopen(fd, 'wb') as f:           # to disk as it arrives: memory stays bounded
            async for chunk in request.stream():
                n += len(chunk)
                if n > limits.csv_bytes: raise ApiError(413, f'the CSV is over the limit of {_mb(limits.csv_bytes)}.')
                f.write(chunk)
        try:
            scored = await run_in_threadpool(models.scored_csv, name, path, pred.version)
        except ModelError as e:
            raise ApiError(422, str(e).replace(path, 'the CSV')) from None
    except BaseException:
        os.unlink(path)
        raise
    headers = {'X-Model': name, 'X-Model-Version': pred.version,
               'X-Unused-Columns': json.dumps(scored.unused),
               'Content-Disposition': f'attachment; filename="{name}_scored.csv"'}
    return StreamingResponse(_stream_scored(scored), media_type='text/csv', headers=headers,
                             background=BackgroundTask(os.unlink, path))


def _stream_scored(scored):
    "The scored CSV's bytes; a failure after the first byte ends the stream with a line saying why."
    try:
        yield from scored
    except ModelError as e:      # e.g. a malformed line far down the file: the rows before it are sent
        yield f'{STREAM_ERROR}{e}\n'.encode()


async def _predict_images(name, version, top, request, models, limits):
    pred = await run_in_threadpool(_predictor, models, name, version, 'image')
    files = await _files(request, limits)
    out = await run_in_threadpool(models.classify, name, files, pred.version)
    return dict(model=name, version=pred.version, results=[r.to_dict(top or None) for r in out])


async def _files(request, limits) -> list[tuple[str, bytes]]:
    "The request's image files `(name, bytes)`, within the upload limits."
    lim = limits.images
    if not request.headers.get('content-length', '').isdigit():
        raise ApiError(411, 'send the Content-Length of an image upload.')
    if int(request.headers['content-length']) > lim.max_upload_bytes + 2**20:     # files and multipart framing
        raise ApiError(413, f'the files of one upload may hold {_mb(lim.max_upload_bytes)} together; '
                            'send the rest in another request.')
    try:
        form = await request.form(max_files=lim.max_files, max_fields=100)
    except StarletteHTTPException as e:
        if 'Too many files' in str(e.detail):
            raise ApiError(413, f'an upload may hold at most {lim.max_files} files.') from None
        raise ApiError(400, f'the upload is not readable multipart/form-data: {e.detail}') from None
    try:
        uploads = [f for f in form.getlist('files') if hasattr(f, 'read')]
        if not uploads: raise ApiError(422, 'send the images as multipart/form-data files named "files".')
        return [(upload_name(f.filename, i), await f.read()) for i, f in enumerate(uploads)]
    finally:
        await form.close()


health = APIRouter()


@health.get('/healthz', summary='The process is up')
def healthz():
    return dict(status='ok')


@health.get('/readyz', summary='The store is readable and every active model loads and answers')
def readyz(store: ModelStore = Depends(get_store)):
    from .verify import smoke
    from .predictor import load_predictor
    checks, ok = [], True
    try:
        names = store.names()
    except OSError as e:
        return JSONResponse(dict(ready=False, checks=[dict(check='store', ok=False, detail=str(e))]), 503)
    for n in names:
        label = f'{n} {store.active_version(n)}'
        try:
            checks.append(dict(check=label, ok=True, detail=smoke(load_predictor(n, store=store))))
        except Exception as e:  # noqa: BLE001 - every failure is reported
            ok = False
            checks.append(dict(check=label, ok=False, detail=f'{type(e).__name__}: {e}'))
    return JSONResponse(dict(ready=ok, checks=checks), 200 if ok else 503)


# ---- the app ----------------------------------------------------------------------------------
def create_app(store: ModelStore | None = None, log=None, limits: Limits | None = None,
               batch_images: bool | None = None) -> FastAPI:
    """The model server's ASGI app (store and log default to the environment's). Concurrent image
    requests share forward passes unless `batch_images` is False (env FASTAI_APPS_BATCH_IMAGES=0)."""
    @asynccontextmanager
    async def lifespan(app):
        from .predictor import preload
        # load the active models in the background: /healthz answers at once, requests that come
        # before a model is loaded wait for it
        threading.Thread(target=preload, args=(None, app.state.store), daemon=True).start()
        yield

    app = FastAPI(title='fastai-apps model server', version='1',
                  description='Predictions of the models in the store, for the apps and any other program.',
                  lifespan=lifespan)
    app.state.store = store or ModelStore()
    app.state.log = log if log is not None else PredictionLog(source='api')
    app.state.limits = limits or Limits()
    app.state.batch_images = (os.environ.get('FASTAI_APPS_BATCH_IMAGES', '1') != '0' if batch_images is None
                              else batch_images)
    app.include_router(router)
    app.include_router(health)

    @app.exception_handler(ApiError)
    async def api_error(request, e: ApiError):
        return JSONResponse(dict(detail=e.reason), e.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, e: StarletteHTTPException):
        reason = (f'no such endpoint: {request.method} {request.url.path} (see /docs)' if e.status_code in (404, 405)
                  else str(e.detail))
        return JSONResponse(dict(detail=reason), e.status_code, headers=getattr(e, 'headers', None))

    @app.exception_handler(RequestValidationError)
    async def bad_params(request, e: RequestValidationError):
        parts = [f'{".".join(map(str, err.get("loc", ())[1:])) or "request"}: {err.get("msg")}' for err in e.errors()]
        return JSONResponse(dict(detail='; '.join(parts)), 422)

    @app.exception_handler(Exception)
    async def unexpected(request, e: Exception):     # never a traceback to the caller
        return JSONResponse(dict(detail=f'the server could not answer: {type(e).__name__}: {e}'), 500)
    return app
