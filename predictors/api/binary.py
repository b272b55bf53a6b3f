"""Triton's binary tensor data extension of the Open Inference Protocol (`predictors.api.oip`, #30).

A request (or response) whose `Inference-Header-Content-Length` header is N holds its JSON in the first N bytes
of the body and the tensors' data after it, in the order of the tensors, each sized by its
`parameters.binary_data_size`: numbers little-endian, `BYTES` elements each after its 4-byte little-endian length.
This is what `tritonclient` sends and asks for by default.
"""
from __future__ import annotations

import json
import math
import struct

import numpy as np

__all__ = ['HEADER', 'read_request', 'encode', 'BinaryError']

HEADER = 'inference-header-content-length'
_DTYPES = {'INT64': '<i8', 'INT32': '<i4', 'FP64': '<f8', 'FP32': '<f4', 'BOOL': '?'}


class BinaryError(ValueError):
    "A binary request that does not add up (said to the caller as a 400)."


def read_request(body: bytes, header_length: str) -> dict:
    "The request's JSON with each binary input's `data` filled in (`BYTES` elements as bytes)."
    if not header_length.isdigit() or int(header_length) > len(body):
        raise BinaryError(f'{HEADER} is {header_length!r}, but the body holds {len(body)} bytes.')
    n = int(header_length)
    try:
        req = json.loads(body[:n])
    except ValueError as e:
        raise BinaryError(f'the JSON header of the request is not valid JSON: {e}.') from None
    rest, at = memoryview(body)[n:], 0
    for t in req.get('inputs') or []:
        size = ((t.get('parameters') or {}) if isinstance(t, dict) else {}).get('binary_data_size')
        if size is None: continue
        if not isinstance(size, int) or size < 0 or at + size > len(rest):
            raise BinaryError(f'input {t.get("name")!r}: its binary_data_size {size!r} runs past the body.')
        t['data'] = _decode(bytes(rest[at:at + size]), t.get('datatype'), t.get('name'))
        at += size
    if at != len(rest): raise BinaryError(f'{len(rest) - at} bytes of binary data belong to no input.')
    return req


def _decode(raw: bytes, datatype, name) -> list:
    if datatype == 'BYTES':
        out, i = [], 0
        while i < len(raw):
            if i + 4 > len(raw): raise BinaryError(f'input {name!r}: a BYTES element is cut short.')
            (k,) = struct.unpack_from('<I', raw, i)
            if i + 4 + k > len(raw): raise BinaryError(f'input {name!r}: a BYTES element is cut short.')
            out.append(raw[i + 4:i + 4 + k]); i += 4 + k
        return out
    if datatype not in _DTYPES: raise BinaryError(f'input {name!r}: binary {datatype!r} is not read here.')
    width = np.dtype(_DTYPES[datatype]).itemsize
    if len(raw) % width: raise BinaryError(f'input {name!r}: {len(raw)} bytes are not whole {datatype} values.')
    return np.frombuffer(raw, _DTYPES[datatype]).tolist()


def encode(answer: dict, binary: set[str]) -> tuple[bytes, int]:
    "(the response body, the length of its JSON header): the outputs named in `binary` sent as binary data."
    blobs = []
    for t in answer['outputs']:
        if t['name'] not in binary: continue
        data = t.pop('data')
        if t['datatype'] == 'BYTES':
            blob = b''.join(struct.pack('<I', len(b)) + b for b in (str(x).encode() for x in data))
        else:
            blob = np.asarray([math.nan if x is None else x for x in data], _DTYPES[t['datatype']]).tobytes()
        t.setdefault('parameters', {})['binary_data_size'] = len(blob)
        blobs.append(blob)
    head = json.dumps(answer).encode()
    return head + b''.join(blobs), len(head)
