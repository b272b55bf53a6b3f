"""The Open Inference Protocol calls a program makes for each model of a running model server (#30), written from its
live metadata and each model's card (the values its input gives, `Input.oip_row`): what `docs/api-examples.md` holds
(`examples_markdown`). The app pages' *Use via API* panel shows the kind's own calls (`ModelKind.example_calls`).

    .venv/bin/python -m predictors.ops.examples http://127.0.0.1:8865 test_images/mix/mix_lemon_orange.jpg > docs/api-examples.md

(the model server's token from $FASTAI_APPS_API_TOKEN; the picture is what the image models' examples send).
"""
from __future__ import annotations

import json
import sys

from predictors.kinds import kind_of
from predictors.kinds.inputs import AUTH, PHOTO, PY_AUTH, shell_quoted
from predictors.core.settings import Settings

__all__ = ['oip_calls', 'examples_markdown']


_NUMPY = {'BYTES': 'object', 'INT64': 'np.int64', 'FP64': 'np.float64', 'FP32': 'np.float32', 'INT32': 'np.int32',
          'BOOL': 'bool'}


def oip_calls(meta: dict, card: dict, url: str) -> tuple[dict, str, str]:
    """(the infer request's JSON body, its curl, the same with tritonclient) for one row of typical values, each input
    written as the live model metadata `meta` names and types it (an image: the file `photo.jpg`)."""
    name, host = meta['name'], url.split('://')[-1]
    k = kind_of(card)
    row, values = k.input.oip_row(meta, card)
    params = k.example_parameters(card)
    body = {'inputs': [dict(name=t['name'], shape=[1], datatype=t['datatype'], data=[row[t['name']]]) for t in meta['inputs']],
            **({'parameters': params} if params else {})}
    curl = (f"curl -s {url}/v2/models/{name}/infer -H {AUTH} \\\n  -H 'Content-Type: application/json' "
            f"-d '{shell_quoted(body)}'").replace(PHOTO, '\'"$(base64 -w0 photo.jpg)"\'')
    types = sorted({t['datatype'] for t in meta['inputs']})
    lines = ['import numpy as np, os, tritonclient.http as tc', f"c = tc.InferenceServerClient('{host}')",
             f'h = {PY_AUTH}', f'row = {values}',
             f"tensors = {[(t['name'], t['datatype']) for t in meta['inputs']]!r}   # GET /v2/models/{name}: its inputs",
             'types = {' + ', '.join(f'{d!r}: {_NUMPY[d]}' for d in types) + '}', 'inputs = []',
             'for name, datatype in tensors:', '    x = tc.InferInput(name, [1], datatype)',
             '    x.set_data_from_numpy(np.array([row[name]], dtype=types[datatype]))', '    inputs.append(x)',
             f"res = c.infer({name!r}, inputs, headers=h{f', parameters={params!r}' if params else ''})"]
    lines += [f"print({o['name']!r}, res.as_numpy({o['name']!r}))" for o in meta['outputs']]
    return body, curl, '\n'.join(lines)


def _shown(answer: dict) -> str:
    "A live answer as the docs show it: numbers to 4 places, the log ids left out (they change with every call)."
    def short(t):
        t = dict(t)
        if t['name'] == 'id': t['data'] = ['…' for _ in t['data']]
        elif t['datatype'].startswith('FP'): t['data'] = [None if x is None else round(x, 4) for x in t['data']]
        return json.dumps(t, ensure_ascii=False)
    return '{"model_name": %s, "model_version": %s, "outputs": [\n  %s]}' % (
        json.dumps(answer['model_name']), json.dumps(answer['model_version']), ',\n  '.join(map(short, answer['outputs'])))


def examples_markdown(url: str, headers: dict | None = None, photo: bytes | None = None) -> str:
    """The Open Inference Protocol calls of every model the server at `url` serves, from its live metadata, each with
    the answer the server gave (an image model's to the picture `photo`; without one, image models are left out)."""
    import base64

    import httpx
    with httpx.Client(base_url=url, headers=headers or {}, timeout=120) as http:
        names = [m['name'] for m in http.get('/v1/models').raise_for_status().json()['models']]
        out = ['# Calling each model with the Open Inference Protocol', '',
               'Written by `python -m predictors.ops.examples URL PICTURE` from the live model server: each model\'s input and',
               'output tensors as `GET /v2/models/{name}` gives them, a `curl` and a `tritonclient` call with one row of',
               'typical values (the model card\'s), and the answer the server gave. `tests/test_oip.py` checks that this',
               'file is what the demo models\' server says today and runs each call. Protocol details: [api.md](api.md).', '']
        for name in names:
            meta = http.get(f'/v2/models/{name}').raise_for_status().json()
            card = http.get(f'/v1/models/{name}').raise_for_status().json()
            body, curl, triton = oip_calls(meta, card, url)
            if any(t['data'] == [PHOTO] for t in body['inputs']):                # a file: the picture it is sent
                if photo is None: continue
                for t in body['inputs']: t['data'] = [base64.b64encode(photo).decode() if v == PHOTO else v for v in t['data']]
            answer = http.post(f'/v2/models/{name}/infer', json=body).raise_for_status().json()
            tensors = lambda ts: ', '.join(f"`{t['name']}` {t['datatype']} {t['shape']}" for t in ts)  # noqa: E731
            out += [f"## `{name}` ({meta['platform']}, version {card['version']})", '',
                    f'Inputs: {tensors(meta["inputs"])}.', '', f'Outputs: {tensors(meta["outputs"])}.', '',
                    '```bash', curl, '```', 'answers', '```json', _shown(answer), '```', '', '```python', triton, '```', '']
    return '\n'.join(out)


def main(argv=None) -> int:
    "`python -m predictors.ops.examples URL [PICTURE]`: the markdown of `examples_markdown` on stdout."
    argv = sys.argv[1:] if argv is None else argv
    url = (argv[0] if argv else 'http://127.0.0.1:8865').rstrip('/')
    photo = argv[1] if len(argv) > 1 else None
    print(examples_markdown(url, Settings.from_env().api_headers, open(photo, 'rb').read() if photo else None))
    return 0


if __name__ == '__main__':
    sys.exit(main())
