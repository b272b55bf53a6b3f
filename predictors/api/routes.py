"""The model server's routes: `/v1` (models, cards, predict, explain, feedback) and the health checks.

    GET  /v1/models                      the models (name, task, active version, versions) and upload limits
    GET  /v1/models/{name}[?version=]    the model card, with the schema the forms are built from
    GET  /v1/models/{name}/ready         the version loads and can answer (500 with the reason if not)
    POST /v1/models/{name}/predict       JSON {"records": [...]} -> one result per record
                                         text/csv -> the scored CSV, streamed
                                         multipart images ("files") -> one result per image [?top=k]
    POST /v1/models/{name}/explain       JSON {"records": [...]} -> why: each field's contribution
                                         multipart images ("files") -> each with a heatmap PNG (base64)
    POST /v1/models/{name}/feedback      JSON {"labels": [{"id": answer id, "truth": class}, ...]}
    GET  /v1/models/{name}/live          operators: live performance of the labelled answers, as data [?since=7d]
    GET  /v1/models/{name}/drift         operators: drift of the logged answers, as data [?since=&traffic=]
    GET  /healthz                        the process is up
    GET  /readyz                         the store is readable and every active model loads and answers
"""
from __future__ import annotations

import json
import os
import tempfile

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from predictors.api import schemas as S
from predictors.api.bodies import check_length, files as read_files, json_list, records as read_records
from predictors.api.deps import Limits, card_of, get_limits, get_models, get_store, predictor_of, valid_id
from predictors.api.errors import ApiError
from predictors.core.helpers import byte_size
from predictors.core.results import STREAM_ERROR
from predictors.core.store import ModelError, ModelStore
from predictors.kinds import kind_of
from predictors.service.rows import model_rows
from predictors.service.local import LocalModels
from predictors.service.loading import load_predictor, smoke

__all__ = ['router', 'health']

UNUSED_SHOWN = 100    # names of unused columns sent in X-Unused-Columns (X-Unused-Columns-Count: all of them)
_ERRORS = {code: {'model': S.ErrorOut} for code in (400, 404, 411, 413, 415, 422, 500)}


def _doc(model, *, body=None) -> dict:
    "Route options: `model` documents the JSON answer, `body` the JSON request (read by the route itself)."
    return S.route_doc(model, _ERRORS, body)


router = APIRouter(prefix='/v1')


@router.get('/models', summary='The models and the upload limits', response_model=S.ModelsOut)
def list_models(what: str | None = Query(None, description="only the models of a task, that read an input "
                                                           "('records', 'texts', 'images') or that an app shows"),
                store: ModelStore = Depends(get_store), limits: Limits = Depends(get_limits)):
    return dict(models=model_rows(store, what), limits=limits.to_dict())


@router.get('/models/{name}', summary="A model's card (its active version unless `version` is given)", responses=_ERRORS)
def get_card(name: str, version: str | None = None, models: LocalModels = Depends(get_models)):
    return card_of(models, name, version)


@router.get('/models/{name}/ready', summary='The model version loads and can answer (500 with the reason if not)',
            **_doc(S.ReadyOut))
def model_ready(name: str, version: str | None = None, models: LocalModels = Depends(get_models)):
    card = card_of(models, name, version)
    predictor_of(models, name, card['version'], kind_of(card).input.form)
    return dict(ready=True, model=name, version=card['version'])


@router.post('/models/{name}/predict', summary='Predict JSON records, a CSV, or images', responses={
    200: {'model': S.PredictOut, 'content': {'text/csv': {}},
          'description': 'JSON: one result per record or image. CSV: the scored CSV (the input\'s columns, '
                         '`prediction`, `probability_<class>`, `problem`), streamed.'}, **_ERRORS},
              openapi_extra=_doc(S.PredictOut, body=S.RecordsIn)['openapi_extra'])
async def predict(name: str, request: Request, version: str | None = None,
                  top: int = Query(0, ge=0, description='images: the classes given per image (0: all)'),
                  models: LocalModels = Depends(get_models), limits: Limits = Depends(get_limits)):
    """Send `application/json` `{"records": [{column: value, ...}, ...]}`, a `text/csv` body, or
    `multipart/form-data` with image files under `files`. Bad records, rows and files fail alone."""
    ctype = request.headers.get('content-type', '').split(';')[0].strip().lower()
    if ctype == 'application/json': return await _predict_json(name, version, request, models, limits)
    if ctype in ('text/csv', 'application/csv'): return await _predict_csv(name, version, request, models, limits)
    if ctype == 'multipart/form-data': return await _predict_files(name, version, top, request, models, limits)
    raise ApiError(415, f'unsupported content type {ctype or "(none)"!r}: send application/json records, '
                        'a text/csv file or multipart/form-data images.')


@router.post('/models/{name}/explain', summary='Why: the contribution of each field, or a heatmap per image',
             **_doc(S.ExplainOut, body=S.RecordsIn))
async def explain(name: str, request: Request, version: str | None = None,
                  models: LocalModels = Depends(get_models), limits: Limits = Depends(get_limits)):
    """Send `application/json` `{"records": [...]}` (tabular: per record the predicted class, its
    probability, the base value and each field's contribution, which add up to the probability) or
    `multipart/form-data` images under `files` (per image the prediction and `heatmap_png`, base64:
    where the model looked for its top class). Bad records and files fail alone."""
    ctype = request.headers.get('content-type', '').split(';')[0].strip().lower()
    if ctype == 'application/json':
        pred = await run_in_threadpool(predictor_of, models, name, version, 'rows')
        inputs = await read_records(request, pred, limits, limits.explain_records, 'each is scored thousands of times: split them over requests')
    elif ctype == 'multipart/form-data':
        pred = await run_in_threadpool(predictor_of, models, name, version, 'files')
        inputs = await read_files(request, limits)
    else:
        raise ApiError(415, f'unsupported content type {ctype or "(none)"!r}: send application/json records '
                            'or multipart/form-data images.')
    out = await run_in_threadpool(models.explain, name, inputs, pred.version)
    return dict(model=name, version=pred.version, results=[e.to_dict() for e in out])


def _label_list(v) -> bool:
    "Whether a truth is a list of labels (a multi-label model's: [] for none of them)."
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


@router.post('/models/{name}/feedback', summary='The right class of answers given earlier (their `id`)',
             **_doc(S.FeedbackOut, body=S.LabelsIn))
async def feedback(name: str, request: Request, models: LocalModels = Depends(get_models),
                   limits: Limits = Depends(get_limits), x_session_id: str | None = Header(None)):
    """Send `{"labels": [{"id": 123, "truth": "<class>"}, ...]}`: `id` is the answer's `id` from
    `/predict`, under the same `X-Session-Id` the answer was given under: only the session that
    received an answer may label it. Per label `{"id": …, "ok": true}` or its `error`. (Labels that
    arrive later, from another program: `python -m predictors feedback NAME labels.csv`.)"""
    if not valid_id(x_session_id):
        raise ApiError(422, 'send the X-Session-Id the answers were given under: only the session that received an '
                            'answer may label it (labels that arrive later: `python -m predictors feedback NAME FILE.csv`).')
    card = card_of(models, name, None)
    labels = await json_list(request, limits, 'labels', '{"labels": [{"id": answer id, "truth": class}, ...]}',
                              'label', limits.records)
    pairs = []
    for i, lab in enumerate(labels):
        if not (isinstance(lab, dict) and isinstance(lab.get('id'), int) and 0 < lab['id'] < 2**63
                and (isinstance(lab.get('truth'), str) or _label_list(lab.get('truth')))):
            raise ApiError(422, f'label {i + 1}: send {{"id": an integer, "truth": one of {card.get("classes")}}}.')
        pairs.append((lab['id'], lab['truth']))
    try:
        out = await run_in_threadpool(models.feedback, name, pairs, False)
    except ModelError as e:                  # the log cannot be written (read-only, full, gone): 507, not stored
        raise ApiError(507, str(e)) from None
    return dict(model=name, results=[dict(id=i, ok=True) if e is None else dict(id=i, error=e)
                                     for (i, _), e in zip(pairs, out)])


async def _predict_json(name, version, request, models, limits):
    pred = await run_in_threadpool(predictor_of, models, name, version, 'rows')
    records = await read_records(request, pred, limits, limits.records, 'send a CSV for more: it is scored as a stream')
    out = await run_in_threadpool(models.predict, name, records, pred.version)
    return dict(model=name, version=pred.version, results=[p.to_dict() for p in out])


async def _predict_csv(name, version, request, models, limits):
    pred = await run_in_threadpool(predictor_of, models, name, version, 'rows')
    check_length(request, limits.csv_bytes, 'the CSV')
    fd, path = tempfile.mkstemp(prefix='fastai-apps-', suffix='.csv')
    try:
        n = 0
        with os.fdopen(fd, 'wb') as f:           # to disk as it arrives: memory stays bounded
            async for chunk in request.stream():
                n += len(chunk)
                if n > limits.csv_bytes: raise ApiError(413, f'the CSV is over the limit of {byte_size(limits.csv_bytes)}.')
                f.write(chunk)
        try:
            scored = await run_in_threadpool(models.scored_csv, name, path, pred.version)
        except ModelError as e:
            raise ApiError(422, str(e).replace(path, 'the CSV')) from None
    except BaseException:
        os.unlink(path)
        raise
    headers = {'X-Model': name, 'X-Model-Version': pred.version,
               'X-Unused-Columns': json.dumps(scored.unused[:UNUSED_SHOWN]), 'X-Unused-Columns-Count': str(len(scored.unused)),
               'Content-Disposition': f'attachment; filename="{name}_scored.csv"'}
    return StreamingResponse(_stream_scored(scored), media_type='text/csv', headers=headers,
                             background=BackgroundTask(os.unlink, path))


def _stream_scored(scored):
    "The scored CSV's bytes; a failure after the first byte ends the stream with a line saying why."
    try:
        yield from scored
    except ModelError as e:      # e.g. a malformed line far down the file: the rows before it are sent
        yield f'{STREAM_ERROR}{e}\n'.encode()


async def _predict_files(name, version, top, request, models, limits):
    pred = await run_in_threadpool(predictor_of, models, name, version, 'files')
    files = await read_files(request, limits)
    out = await run_in_threadpool(models.predict, name, files, pred.version)
    return dict(model=name, version=pred.version, results=[r.to_dict(top or None) for r in out])


@router.get('/models/{name}/live', summary="Operators: live performance of the labelled answers against the card's (data)",
            **_doc(S.LiveOut))
def live(name: str, since: str | None = Query(None, description="24h, 7d, 30m or an ISO time (default: all)"),
         models: LocalModels = Depends(get_models)):
    try: return models.live_accuracy(card_of(models, name, None)['name'], since)
    except ModelError as e: raise ApiError(422, str(e)) from None


@router.get('/models/{name}/drift', summary='Operators: drift of the logged answers against the training data (data)',
            **_doc(S.DriftOut))
def drift(name: str, since: str | None = Query(None, description="24h, 7d, 30m or an ISO time (default: all)"),
          traffic: str = Query('single', pattern='^(single|batch|all)$'), models: LocalModels = Depends(get_models)):
    try: return models.drift(card_of(models, name, None)['name'], since, traffic)
    except ModelError as e: raise ApiError(422, str(e)) from None


health = APIRouter()


@health.get('/healthz', summary='The process is up')
def healthz():
    return dict(status='ok')


@health.get('/readyz', summary="The store is readable and every active model's file is the registered one, loads and answers",
            responses={200: {'model': S.ReadyzOut}, 503: {'model': S.ReadyzOut}})
def readyz(store: ModelStore = Depends(get_store)):
    checks, ok = [], True
    try:
        names = store.names()
    except OSError as e:
        return JSONResponse(dict(ready=False, checks=[dict(check='store', ok=False, detail=str(e))]), 503)
    for n in names:
        label = f'{n} {store.active_version(n)}'
        try:
            store.verify(n)           # the file on disk, not only the model in memory (re-read once it changed)
            checks.append(dict(check=label, ok=True, detail=smoke(load_predictor(n, store=store))))
        except Exception as e:  # noqa: BLE001 - every failure is reported
            ok = False
            checks.append(dict(check=label, ok=False, detail=f'{type(e).__name__}: {e}'))
    return JSONResponse(dict(ready=ok, checks=checks), 200 if ok else 503)
