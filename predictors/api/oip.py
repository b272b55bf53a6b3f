"""The Open Inference Protocol (KServe "V2", Triton's HTTP/REST API) beside `/v1` (#30).

    GET  /v2/health/live  /v2/health/ready           the process is up; every active model loads and answers
    GET  /v2                                         server metadata
    GET  /v2/models/{name}[/versions/{v}]            model metadata: its input and output tensors (`ModelKind.tensors`)
    GET  /v2/models/{name}[/versions/{v}]/ready      the version loads and answers
    POST /v2/models/{name}[/versions/{v}]/infer      named input tensors -> the answers as output tensors

An infer request is a prediction like any other: the same predictor, the same log (with `X-Session-Id` and
`X-Source`), the same limits as `/v1`. Inputs are tensors of shape `[n]` or `[n, 1]` with row-major `data`: one per
schema field (every field is needed), or `image` (`BYTES`, each element a base64-encoded file). Outputs: `predicted`,
`probabilities` (`FP32` `[n, k]`, the class names in its `parameters.classes`, a JSON list), `labels` (a multi-label
model's answer, `BOOL` `[n, k]`, with the labels' thresholds), `range` (regression),
`id` (the answer's log id, -1 when none) and `error` (empty for an answered row: a bad row or file fails alone).
Errors: `{"error": reason}` with 400 (bad request) or 404 (no such model or version). Triton's binary tensor
extension (`predictors.api.binary`) is spoken both ways: `tritonclient` works with its defaults.
"""
from __future__ import annotations

import json
import math

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from predictors.api import oip_schemas as O
from predictors.api.schemas import route_doc
from predictors.api.binary import HEADER, BinaryError, encode, read_request
from predictors.api.bodies import read_body
from predictors.api.deps import Limits, get_limits, get_models
from predictors.api.errors import ApiError
from predictors.core.errors import UnknownModel
from predictors.core.store import ModelError
from predictors.kinds import kind_of
from predictors.service.local import LocalModels
from predictors.api.routes import readyz

__all__ = ['oip', 'InferError']

oip = APIRouter(prefix='/v2', tags=['Open Inference Protocol'])
_NUMBER = {'INT64': int, 'FP64': float, 'FP32': float, 'INT32': int}


def _doc(model, *codes, body=None) -> dict:
    "Route options: `model` documents the answer; `codes` the errors; `body` the JSON request (read by the route itself)."
    return route_doc(model, {c: {'model': O.OipError} for c in codes}, body, required=True)


class InferError(Exception):
    "A request the protocol answers with `{'error': reason}` and `status` (400, 404)."

    def __init__(self, reason: str, status: int = 400):
        super().__init__(reason); self.reason, self.status = reason, status


def _error(e: Exception) -> JSONResponse:
    if isinstance(e, InferError): return JSONResponse({'error': e.reason}, e.status)
    if isinstance(e, UnknownModel): return JSONResponse({'error': str(e)}, 404)
    if isinstance(e, ApiError): return JSONResponse({'error': e.reason}, 404 if e.status == 404 else 400)
    return JSONResponse({'error': str(e)}, 400)


@oip.get('/health/live', summary='OIP: the server is live', **_doc(O.Live))
def live():
    return {'live': True}


@oip.get('/health/ready', summary='OIP: every active model loads and answers', **_doc(O.Ready, 503))
def ready(request: Request):
    answer = readyz(request.app.state.store)
    return JSONResponse({'ready': answer.status_code == 200}, answer.status_code)


@oip.get('', summary='OIP: server metadata', **_doc(O.ServerMetadata))
def server_metadata():
    return {'name': 'fastai-apps', 'version': '1', 'extensions': ['binary_tensor_data']}


def _card(models: LocalModels, name: str, version: str | None) -> dict:
    try:
        return models.card(name, version)
    except UnknownModel as e:
        raise InferError(str(e), 404) from None


def _metadata(models, name, version):
    card = _card(models, name, version)
    return {'name': name, 'versions': models.store.versions(name), 'platform': f'fastai_{card["task"]}',
            **kind_of(card).tensors(card)}


@oip.get('/models/{name}', summary="OIP: a model's metadata (its active version)", **_doc(O.ModelMetadata, 400, 404))
@oip.get('/models/{name}/versions/{version}', summary="OIP: a model version's metadata", **_doc(O.ModelMetadata, 400, 404))
async def model_metadata(name: str, version: str | None = None, models: LocalModels = Depends(get_models)):
    try: return await run_in_threadpool(_metadata, models, name, version)
    except (InferError, ModelError) as e: return _error(e)


def _ready(models, name, version):
    card = _card(models, name, version)
    models.check(name, card['version'])
    return {'name': name, 'ready': True}


@oip.get('/models/{name}/ready', summary='OIP: the model loads and answers', **_doc(O.ModelReady, 400, 404))
@oip.get('/models/{name}/versions/{version}/ready', summary='OIP: the model version loads and answers',
         **_doc(O.ModelReady, 400, 404))
async def model_ready(name: str, version: str | None = None, models: LocalModels = Depends(get_models)):
    try: return await run_in_threadpool(_ready, models, name, version)
    except (InferError, ModelError) as e: return _error(e)


@oip.post('/models/{name}/infer', summary='OIP: infer (named input tensors -> output tensors)',
          **_doc(O.InferenceResponse, 400, 404, body=O.InferenceRequest))
@oip.post('/models/{name}/versions/{version}/infer', summary='OIP: infer with a model version',
          **_doc(O.InferenceResponse, 400, 404, body=O.InferenceRequest))
async def infer(name: str, request: Request, version: str | None = None, models: LocalModels = Depends(get_models),
                limits: Limits = Depends(get_limits)):
    return await _infer(name, version, request, models, limits)


async def _infer(name, version, request, models, limits):
    try:
        body = await read_body(request, limits.json_bytes, 'the request')
        if HEADER in request.headers:                  # Triton's binary tensor data (tritonclient's default)
            try:
                req = read_request(body, request.headers[HEADER])
            except BinaryError as e:
                raise InferError(str(e)) from None
        else:
            try:
                req = json.loads(body)
            except ValueError as e:
                raise InferError(f'the body is not valid JSON: {e}.') from None
        if not isinstance(req, dict) or not isinstance(req.get('inputs'), list) or not req['inputs']:
            raise InferError('send {"inputs": [{"name", "shape", "datatype", "data"}, ...]}.')
        card = await run_in_threadpool(_card, models, name, version)
        k = kind_of(card)
        params = req.get('parameters') if isinstance(req.get('parameters'), dict) else {}
        verb = params.get('verb')                          # another verb of the kind's (a recommender's `recommend`)
        spec = k.tensors(card) if verb is None else k.verb_tensors(card, str(verb))
        columns, n = _columns(req['inputs'], spec['inputs'])
        most, what = k.input.limit(limits)
        if n > most: raise InferError(f'{n} {what} in one request; at most {most}.')
        wanted, binary = _wanted(req.get('outputs'), spec['outputs'], req.get('parameters'))
        if verb is None:
            inputs = k.with_parameters(k.input.from_tensors(columns, n), params)
            results = await run_in_threadpool(models.predict, name, inputs, card['version'])
            tensors = k.answer.encode(results, card)
        else:
            tensors = await run_in_threadpool(k.infer_verb, models, card, str(verb), columns, params)
    except (InferError, ApiError, ModelError) as e:
        return _error(e)
    out = {'model_name': name, 'model_version': card['version'], 'outputs': [t for t in tensors if t['name'] in wanted]}
    if isinstance(req.get('id'), str): out['id'] = req['id']
    if not binary: return out
    content, head = encode(out, binary)
    return Response(content, media_type='application/octet-stream', headers={'Inference-Header-Content-Length': str(head)})


def _columns(tensors: list, inputs: list) -> tuple[dict, int]:
    "{input name: its n values}, checked against the model's inputs: names, datatypes, shapes, all present."
    want = {t['name']: t for t in inputs}
    columns, n = {}, None
    for t in tensors:
        if not isinstance(t, dict) or not isinstance(t.get('name'), str):
            raise InferError('each input is {"name", "shape", "datatype", "data"}.')
        name = t['name']
        if name not in want:
            raise InferError(f'unknown input {name!r}; the model reads {", ".join(want)}.')
        if name in columns: raise InferError(f'input {name!r} is given twice.')
        if t.get('datatype') != want[name]['datatype'] and t.get('datatype') not in _WIDENS.get(want[name]['datatype'], ()):
            raise InferError(f'input {name!r} is {t.get("datatype")!r}; the model reads it as {want[name]["datatype"]}.')
        shape = t.get('shape')
        if not (isinstance(shape, list) and shape and all(isinstance(d, int) and d >= 0 for d in shape)
                and (len(shape) == 1 or shape[1:] == [1])):
            raise InferError(f'input {name!r} has shape {shape!r}; send [n] or [n, 1].')
        data = _flat(t.get('data'), name)
        if len(data) != shape[0]:
            raise InferError(f'input {name!r} holds {len(data)} values for its shape {shape} ({shape[0]}).')
        if n is not None and shape[0] != n:
            raise InferError(f'input {name!r} has {shape[0]} rows, the others {n}.')
        n = shape[0]
        columns[name] = [_value(v, want[name]['datatype'], name) for v in data]
    missing = [m for m in want if m not in columns]
    if missing: raise InferError(f'missing input{"s" if len(missing) > 1 else ""} {", ".join(map(repr, missing))}.')
    if not n: raise InferError('the inputs hold no rows.')
    return columns, n


# Narrower types a number input takes too, without loss (pandas' and MLServer's codecs send INT32 columns, say)
_WIDENS = {'INT64': ('INT32',), 'FP64': ('FP32', 'INT32', 'INT64')}


def _flat(data, name) -> list:
    if not isinstance(data, list): raise InferError(f'input {name!r} has no "data" list.')
    out = []
    for v in data:
        if isinstance(v, list): out.extend(_flat(v, name))
        else: out.append(v)
    return out


def _value(v, datatype: str, name: str):
    """One element as the model's input reads it (`Input.from_tensors`: BYTES stay text or bytes, as sent); a wrong type
    is refused."""
    if datatype == 'BYTES':
        if not isinstance(v, (str, bytes)): raise InferError(f'input {name!r} is BYTES: its elements are strings, not {v!r}.')
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InferError(f'input {name!r} is {datatype}: its elements are numbers, not {v!r}.')
    if datatype.startswith('INT') and isinstance(v, float) and not v.is_integer():
        raise InferError(f'input {name!r} is {datatype}: {v!r} is not a whole number.')
    return _NUMBER[datatype](v) if math.isfinite(v) else None


def _wanted(requested, outputs, parameters) -> tuple[set, set]:
    "(the outputs asked for, those of them to send as binary data)."
    names = [o['name'] for o in outputs]
    if requested is None:
        everything = set(names)
        return everything, everything if isinstance(parameters, dict) and parameters.get('binary_data_output') is True else set()
    if not isinstance(requested, list): raise InferError('"outputs" is a list of {"name"}.')
    got = {o.get('name') if isinstance(o, dict) else None for o in requested}
    unknown = got - set(names)
    if unknown: raise InferError(f'unknown output {sorted(map(str, unknown))[0]!r}; the model answers {", ".join(names)}.')
    return got, {o['name'] for o in requested if (o.get('parameters') or {}).get('binary_data') is True}
