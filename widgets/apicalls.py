""""Use via API" on an app page (#30): the calls a program makes for the model being shown, with its real field names.

A collapsed `<details>` (one HTML widget: nothing for the page to fetch until it changes) with a `curl` of the
model server's `/v1`, the same in Python (`httpx`), and Triton's client on the Open Inference Protocol (`/v2`).
The address shown is `$FASTAI_APPS_API_SHOWN` (what programs reach the model server at), else the one the apps use;
the token is never shown, only where it goes. `FASTAI_APPS_API_PANEL=0` leaves the panel out.
"""
from __future__ import annotations

from predictors.core.settings import Settings
from predictors.kinds import kind_of

from .common import esc

__all__ = ['api_calls_html']


def api_calls_html(card: dict, s: Settings) -> str:
    "The collapsed 'Use via API' panel for `card` ('' when the operators turned it off), with the process's settings `s`."
    if not s.api_panel: return ''
    url = (s.api_shown or s.api or 'http://127.0.0.1:8865').rstrip('/')
    blocks = ''.join(f'<p style="margin:8px 0 2px"><b>{esc(title)}</b></p><pre class="app-api-{i}" style="white-space:pre-wrap;'
                     f'background:#f6f8fa;padding:8px;border-radius:4px;font-size:12px;margin:0">{esc(code)}</pre>'
                     for i, (title, code) in enumerate(kind_of(card).example_calls(card, url)))
    return (f'<details class="app-api" style="font-family:system-ui;margin-top:12px"><summary>Use via API</summary>'
            f'<p style="color:#556">Programs call the model server at <code>{esc(url)}</code> with its token (<code>make serve</code> '
            f'prints it; $FASTAI_APPS_API_TOKEN). Details: docs/api.md.</p>{blocks}</details>')
