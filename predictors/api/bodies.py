"""Reading request bodies within the limits: JSON lists of records or labels, CSV to disk, image files."""
from __future__ import annotations

import json
import math

from fastapi import Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from predictors.api.errors import ApiError
from predictors.core.helpers import byte_size
from predictors.core.results import upload_name

__all__ = ['read_body', 'check_length', 'json_body', 'json_list', 'records', 'files']


async def read_body(request: Request, limit: int, what: str) -> bytes:
    "The request body, refused with 413 as soon as it passes `limit` bytes."
    check_length(request, limit, what)
    chunks, n = [], 0
    async for chunk in request.stream():
        n += len(chunk)
        if n > limit: raise ApiError(413, f'{what} is over the limit of {byte_size(limit)}.')
        chunks.append(chunk)
    return b''.join(chunks)


def check_length(request: Request, limit: int, what: str) -> None:
    n = request.headers.get('content-length')
    if n and n.isdigit() and int(n) > limit: raise ApiError(413, f'{what} is over the limit of {byte_size(limit)}.')




async def json_body(request, limits, model, send: str):
    "The JSON body as the pydantic `model`: 415 when it is not JSON, 422 saying what to `send` when it does not fit."
    if request.headers.get('content-type', '').split(';')[0].strip().lower() != 'application/json':
        raise ApiError(415, 'send the body as application/json.')
    try:
        return model.model_validate(json.loads(await read_body(request, limits.json_bytes, 'the JSON body')))
    except (ValueError, RecursionError) as e:
        raise ApiError(422, f'send {send}: {e}') from None


async def json_list(request, limits, key: str, example: str, what: str, most: int, instead: str = '') -> list:
    "The JSON body's list `{key: [...]}` (or a bare list): at least one `what`, at most `most`."
    ctype = request.headers.get('content-type', '').split(';')[0].strip().lower()
    if ctype != 'application/json':            # a web page can send text/plain to any server without asking
        raise ApiError(415, f'send the body as application/json, not {ctype or "(no content type)"!r}.')
    raw = await read_body(request, limits.json_bytes, 'the JSON body')
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, f'the body is not valid JSON: {e}.') from None
    except RecursionError:
        raise ApiError(400, 'the body is JSON nested too deeply to read (records are one level of column: value).') from None
    items = body.get(key) if isinstance(body, dict) else body
    if not isinstance(items, list) or not items: raise ApiError(422, f'send {example} with at least one {what}.')
    if len(items) > most:
        raise ApiError(413, f'{len(items)} {what}s in one request; at most {most}' + (f' ({instead})' if instead else '') + '.')
    return items


async def records(request, pred, limits, most: int, instead: str) -> list[dict]:
    "The request's JSON records, checked against the model's columns: at most `most` of them."
    items = await json_list(request, limits, 'records', '{"records": [{column: value, ...}, ...]}', 'record',
                            most, instead)
    known = [c['name'] for c in pred.inputs] + list(pred.options)
    for i, r in enumerate(items):
        if not isinstance(r, dict): raise ApiError(422, f'record {i + 1} is not an object of column: value.')
        unknown = [k for k in r if k not in known]
        if unknown:
            raise ApiError(422, f'record {i + 1}: unknown column{"s" if len(unknown) > 1 else ""} '
                                f'{", ".join(map(repr, unknown))}; the model reads {", ".join(known)}.')
        for k, v in r.items():
            if not (v is None or isinstance(v, (str, int, float, bool))):
                raise ApiError(422, f'record {i + 1}: {k} is {type(v).__name__}, not a number or a text.')
            if isinstance(v, float) and not math.isfinite(v): r[k] = None
    return items


async def files(request, limits) -> list[tuple[str, bytes]]:
    "The request's image files `(name, bytes)`, within the upload limits."
    lim = limits.images
    if not request.headers.get('content-length', '').isdigit():
        raise ApiError(411, 'send the Content-Length of an image upload.')
    if int(request.headers['content-length']) > lim.max_upload_bytes + 2**20:     # files and multipart framing
        raise ApiError(413, f'the files of one upload may hold {byte_size(lim.max_upload_bytes)} together; '
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
