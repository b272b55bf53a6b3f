""""Use via API" on an app page (#30): the calls a program makes for the model being shown, with its real field names.

A collapsed `<details>` (one HTML widget: nothing for the page to fetch until it changes) with a `curl` of the
model server's `/v1`, the same in Python (`httpx`), and Triton's client on the Open Inference Protocol (`/v2`).
The address shown is `$FASTAI_APPS_API_SHOWN` (what programs reach the model server at), else the one the apps use;
the token is never shown, only where it goes. `FASTAI_APPS_API_PANEL=0` leaves the panel out.
"""
from __future__ import annotations

import json

from predictors.core.helpers import input_fields
from predictors.core.settings import Settings

from .common import esc

__all__ = ['api_calls_html']


def _example(card: dict) -> dict:
    "A record of the card's defaults: its real field names, typical values."
    return {c['name']: c.get('default') if c['kind'] != 'text' else c.get('default') or 'Call me when you get home'
            for c in input_fields(card)}


def _calls(card: dict, url: str) -> list[tuple[str, str]]:
    name, auth, host = card['name'], '"Authorization: Bearer $FASTAI_APPS_API_TOKEN"', url.split('://')[-1]
    py_auth = "{'Authorization': 'Bearer ' + os.environ['FASTAI_APPS_API_TOKEN']}"      # (Python code, shown)
    if card.get('task') in ('image', 'multilabel'):
        return [('curl', f"curl -s {url}/v1/models/{name}/predict -H {auth} -F files=@photo.jpg -F files=@other.png"),
                ('Python (httpx)', f"import httpx, os\nr = httpx.post('{url}/v1/models/{name}/predict',\n"
                                   f"               headers={py_auth},\n"
                                   f"               files=[('files', open('photo.jpg', 'rb'))])\nprint(r.json()['results'])"),
                ('tritonclient (Open Inference Protocol)', f"import numpy as np, os, tritonclient.http as tc\n"
                 f"c = tc.InferenceServerClient('{host}')\nimage = tc.InferInput('image', [1], 'BYTES')\n"
                 f"image.set_data_from_numpy(np.array([open('photo.jpg', 'rb').read()], dtype=object))\n"
                 f"res = c.infer('{name}', [image], headers={py_auth})\n"
                 f"print(res.as_numpy('predicted'))")]
    record = _example(card)
    body = json.dumps({'records': [record]}).replace("'", "'\\''")    # (inside the shell's single quotes)
    return [('curl', f"curl -s {url}/v1/models/{name}/predict -H {auth} \\\n  -H 'Content-Type: application/json' -d '{body}'"),
            ('Python (httpx)', f"import httpx, os\nrecord = {record!r}\n"
                               f"r = httpx.post('{url}/v1/models/{name}/predict', json={{'records': [record]}},\n"
                               f"               headers={py_auth})\n"
                               f"print(r.json()['results'][0])"),
            ('tritonclient (Open Inference Protocol)', f"import numpy as np, os, tritonclient.http as tc\n"
             f"record = {record!r}\nc = tc.InferenceServerClient('{host}')\n"
             f"h = {py_auth}\n"
             f"types = {{'BYTES': object, 'INT64': np.int64, 'FP64': np.float64}}\ninputs = []\n"
             f"for t in c.get_model_metadata('{name}', headers=h)['inputs']:\n"
             f"    x = tc.InferInput(t['name'], [1], t['datatype'])\n"
             f"    x.set_data_from_numpy(np.array([record[t['name']]], dtype=types[t['datatype']]))\n"
             f"    inputs.append(x)\nres = c.infer('{name}', inputs, headers=h)\nprint(res.as_numpy('predicted'))")]


def api_calls_html(card: dict, settings: Settings | None = None) -> str:
    "The collapsed 'Use via API' panel for `card` ('' when the operators turned it off)."
    s = settings or Settings.from_env()
    if not s.api_panel: return ''
    url = (s.api_shown or s.api or 'http://127.0.0.1:8865').rstrip('/')
    blocks = ''.join(f'<p style="margin:8px 0 2px"><b>{esc(title)}</b></p><pre class="app-api-{i}" style="white-space:pre-wrap;'
                     f'background:#f6f8fa;padding:8px;border-radius:4px;font-size:12px;margin:0">{esc(code)}</pre>'
                     for i, (title, code) in enumerate(_calls(card, url)))
    return (f'<details class="app-api" style="font-family:system-ui;margin-top:12px"><summary>Use via API</summary>'
            f'<p style="color:#556">Programs call the model server at <code>{esc(url)}</code> with its token (<code>make serve</code> '
            f'prints it; $FASTAI_APPS_API_TOKEN). Details: docs/api.md.</p>{blocks}</details>')
