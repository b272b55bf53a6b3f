"""What a model reads (a kind's `input`): the vocabulary is `records` (a form, JSON records, CSV rows), `texts` (records
with a text field: a message) and `images` (picture files). Each is one of two forms that the transports know how to
carry: `Rows` (JSON records, a form's values, the rows of a CSV or Parquet file) or `Files` (uploads, paths, folders).

An input says how it is sent (`send`, for a refusal), its Open Inference Protocol tensors (`tensors`, and
`from_tensors` back to inputs), how many one request may hold (`limit`), which files on disk it reads (`expand`),
and the calls a program makes (`example_calls`, `oip_row`). Strings and plain Python only: the thin app kernel
imports this module (its *Use via API* panel).
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from predictors.core.errors import ModelError
from predictors.core.helpers import expand_inputs, input_fields

__all__ = ['Input', 'Rows', 'Files', 'RECORDS', 'TEXTS', 'PROMPTS', 'IMAGES', 'example_record', 'shell_quoted', 'AUTH', 'PY_AUTH', 'PHOTO']

AUTH = '"Authorization: Bearer $FASTAI_APPS_API_TOKEN"'                                  # (shell, shown)
PY_AUTH = "{'Authorization': 'Bearer ' + os.environ['FASTAI_APPS_API_TOKEN']}"        # (Python code, shown)
PHOTO = '<base64 of photo.jpg>'          # an image's place in an example body (the shell fills it in)


def example_record(card: dict) -> dict:
    "A record of the card's defaults: its real field names, typical values."
    return {c['name']: c.get('default') if c['kind'] != 'text' else c.get('default') or 'Call me when you get home'
            for c in input_fields(card)}


def _text(v, name: str):
    "A `BYTES` element of a row as text (binary data arrives as bytes), or `ModelError` when it is not UTF-8."
    if not isinstance(v, bytes): return v
    try:
        return v.decode()
    except UnicodeDecodeError:
        raise ModelError(f'input {name!r}: an element is not UTF-8 text.') from None


def _base64(v: str) -> bytes:
    "A file sent as base64 text (`b''` when it is not base64: refused alone, as an empty file, with its reason)."
    try:
        return base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        return b''


def shell_quoted(body: dict) -> str:
    "`body` as JSON inside a shell's single quotes."
    return json.dumps(body).replace("'", "'\\''")


@dataclass(frozen=True)
class Input:
    "What a model reads: its `name` (the API's `takes`), its `form` ('rows' or 'files') and how to send it (`send`)."
    name: str
    send: str
    form: str = ''

    def tensors(self, card: dict) -> list[dict]:
        "The Open Inference Protocol's input tensors (name, datatype, shape; -1: any number of rows)."
        raise NotImplementedError

    def from_tensors(self, columns: dict, n: int) -> list:
        "The `n` inputs held by the request's tensors ({tensor name: its n values}), as the predictor reads them."
        raise NotImplementedError

    def limit(self, limits) -> tuple[int, str]:
        "(the most inputs one request may hold, what they are called) under the server's `limits`."
        raise NotImplementedError

    def expand(self, paths: list) -> list[str]:
        "The files on disk that `paths` (files, folders, globs) name for this input."
        raise NotImplementedError

    def example_calls(self, card: dict, url: str) -> list[tuple[str, str]]:
        "(title, code) of the calls a program makes: curl and httpx on `/v1`, tritonclient on `/v2`."
        raise NotImplementedError

    def oip_row(self, meta: dict, card: dict) -> tuple[dict, str]:
        "One row of an infer request (its values by tensor name, for JSON) and the same row as Python code."
        raise NotImplementedError


@dataclass(frozen=True)
class Rows(Input):
    "Rows of a table: one tensor per schema field; JSON records, a form, CSV or Parquet rows."
    form: str = 'rows'

    def tensors(self, card):
        return [dict(name=c['name'], datatype='BYTES' if c['kind'] != 'continuous' else
                     'INT64' if c.get('integer') else 'FP64', shape=[-1]) for c in input_fields(card)]

    def from_tensors(self, columns, n):
        return [{c: _text(v[i], c) for c, v in columns.items()} for i in range(n)]

    def limit(self, limits):
        return limits.records, 'rows'

    def expand(self, paths):
        return expand_inputs(paths, ('.csv', '.parquet', '.pq'), 'CSV or Parquet')

    def oip_row(self, meta, card):
        record = example_record(card)
        row = {t['name']: str(record[t['name']]) if t['datatype'] == 'BYTES' else record[t['name']] for t in meta['inputs']}
        return row, repr(row)

    def example_calls(self, card, url):
        name, host = card['name'], url.split('://')[-1]
        record = example_record(card)
        return [('curl', f"curl -s {url}/v1/models/{name}/predict -H {AUTH} \\\n  -H 'Content-Type: application/json' "
                         f"-d '{shell_quoted({'records': [record]})}'"),
                ('Python (httpx)', f"import httpx, os\nrecord = {record!r}\n"
                                   f"r = httpx.post('{url}/v1/models/{name}/predict', json={{'records': [record]}},\n"
                                   f"               headers={PY_AUTH})\n"
                                   f"print(r.json()['results'][0])"),
                ('tritonclient (Open Inference Protocol)', f"import numpy as np, os, tritonclient.http as tc\n"
                 f"record = {record!r}\nc = tc.InferenceServerClient('{host}')\n"
                 f"h = {PY_AUTH}\n"
                 f"types = {{'BYTES': object, 'INT64': np.int64, 'FP64': np.float64}}\ninputs = []\n"
                 f"for t in c.get_model_metadata('{name}', headers=h)['inputs']:\n"
                 f"    x = tc.InferInput(t['name'], [1], t['datatype'])\n"
                 f"    x.set_data_from_numpy(np.array([record[t['name']]], dtype=types[t['datatype']]))\n"
                 f"    inputs.append(x)\nres = c.infer('{name}', inputs, headers=h)\nprint(res.as_numpy('predicted'))")]


@dataclass(frozen=True)
class Files(Input):
    "Files: one `BYTES` tensor (`tensor`) of encoded files (`noun`s); multipart uploads named `files`, paths, folders."
    form: str = 'files'
    tensor: str = 'file'
    noun: str = 'file'

    def tensors(self, card):
        return [dict(name=self.tensor, datatype='BYTES', shape=[-1])]

    def from_tensors(self, columns, n):
        "Each element a file: its bytes (binary data), or base64 text (JSON); what does not decode is refused alone, as empty."
        return [(f'{self.tensor} {i + 1}', v if isinstance(v, bytes) else _base64(v)) for i, v in enumerate(columns[self.tensor])]

    def limit(self, limits):
        return limits.images.max_files, f'{self.noun}s'

    def expand(self, paths):
        return expand_inputs(paths, None, self.noun)

    def oip_row(self, meta, card):
        return ({t['name']: PHOTO for t in meta['inputs']},
                '{' + ', '.join(f"{t['name']!r}: open('photo.jpg', 'rb').read()" for t in meta['inputs']) + '}')

    def example_calls(self, card, url):
        name, host = card['name'], url.split('://')[-1]
        return [('curl', f"curl -s {url}/v1/models/{name}/predict -H {AUTH} -F files=@photo.jpg -F files=@other.png"),
                ('Python (httpx)', f"import httpx, os\nr = httpx.post('{url}/v1/models/{name}/predict',\n"
                                   f"               headers={PY_AUTH},\n"
                                   f"               files=[('files', open('photo.jpg', 'rb'))])\nprint(r.json()['results'])"),
                ('tritonclient (Open Inference Protocol)', f"import numpy as np, os, tritonclient.http as tc\n"
                 f"c = tc.InferenceServerClient('{host}')\n{self.tensor} = tc.InferInput('{self.tensor}', [1], 'BYTES')\n"
                 f"{self.tensor}.set_data_from_numpy(np.array([open('photo.jpg', 'rb').read()], dtype=object))\n"
                 f"res = c.infer('{name}', [{self.tensor}], headers={PY_AUTH})\n"
                 f"print(res.as_numpy('predicted'))")]


RECORDS = Rows('records', 'send JSON records or a CSV')
TEXTS = Rows('texts', 'send JSON records with a "text" field, or a CSV with a text column')
PROMPTS = Rows('prompts', 'send JSON records with a "text" field (the beginning; optionally "words", "temperature" and '
                          '"seed"), or a CSV with a text column')
IMAGES = Files('images', 'send images as multipart/form-data', tensor='image', noun='image')
