"""`RemoteModels`: the predictor interface over HTTP, for a thin app kernel (no torch, no fastai).

It talks to the model server (`predictors.api`) and returns the same objects as `LocalModels`.
When the server cannot be reached (restarting) or answers 503, it says so through `on_wait`
and tries again for up to `wait` seconds before giving up with `ServerUnavailable`.
"""
from __future__ import annotations

import json
import math
import time
import uuid

import httpx

from predictors.core.settings import Settings

from predictors.core.imaging import ImageLimits
from predictors.core.ranked import RankedItem, Recommendations
from predictors.core.results import STREAM_ERROR, Explanation, ImageResult, Prediction, input_form
from predictors.core.store import ModelError, UnknownModel
from predictors.core.written import Continuation, Piece

__all__ = ['RemoteModels', 'ServerUnavailable', 'RESTARTING']

RESTARTING = 'The model server is restarting: trying again…'
_RETRY = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class ServerUnavailable(ModelError):
    "The model server did not answer in time."


class RemoteModels:
    "The models of the model server at `url`; predictions are logged there with this session id."

    def __init__(self, url: str, session: str | None = None, source: str = 'app', wait: float = 60.0,
                 timeout: float = 600.0, on_wait=None, token: str | None = None, settings: Settings | None = None):
        self.url = self.where = url.rstrip('/')
        self.session, self.source = session or uuid.uuid4().hex[:12], source
        self.wait, self.on_wait = wait, on_wait or (lambda message: None)
        self.settings = settings or Settings()
        auth = Settings(api_token=token).api_headers if token else self.settings.api_headers
        self.http = httpx.Client(base_url=self.url, timeout=httpx.Timeout(timeout, connect=5.0),
                                 headers={'X-Session-Id': self.session, 'X-Source': source, **auth},
                                 verify=self.url.startswith('https:'))    # (plain http: no CA bundle to load, ~30 ms)
        self._limits = None

    # ---- transport ----------------------------------------------------------------------------
    def _call(self, do):
        """`do()` (one HTTP exchange returning a response), tried again while the server is
        unreachable or not ready; a 4xx/5xx answer becomes a `ModelError` with the server's reason."""
        end, told = time.monotonic() + self.wait, False
        while True:
            try:
                r = do()
                if r.status_code != 503: break
                reason = _reason(r)
            except _RETRY as e:
                reason = f'{type(e).__name__}: {e}'
            if time.monotonic() > end:
                raise ServerUnavailable(f'the model server at {self.url} is not answering ({reason}); '
                                        f'try again in a minute.')
            if not told: self.on_wait(RESTARTING); told = True
            time.sleep(0.5)
        if r.status_code == 404: raise UnknownModel(_reason(r))
        if r.status_code >= 400: raise ModelError(_reason(r))
        return r

    def _get(self, path, **params):
        return self._call(lambda: self.http.get(path, params={k: v for k, v in params.items() if v is not None})).json()

    # ---- the interface ------------------------------------------------------------------------
    def models(self, what=None):
        body = self._get('/v1/models', what=what)
        self._limits = body.get('limits')
        return body['models']

    def card(self, name, version=None): return self._get(f'/v1/models/{name}', version=version)

    def limits(self):
        if self._limits is None: self.models()
        l = self._limits
        return ImageLimits(max_bytes=l['max_image_bytes'], max_pixels=l['max_pixels'], max_files=l['max_files'],
                           max_upload_bytes=l['max_upload_bytes'])

    def check(self, name, version=None): self._get(f'/v1/models/{name}/ready', version=version)

    def preload(self, task=None):
        "Nothing heavy to load in a thin kernel."

    def _post_records(self, path, records, version):
        body = dict(records=[{k: _json_value(v) for k, v in r.items()} for r in records])
        params = {'version': version} if version else {}
        return self._call(lambda: self.http.post(path, json=body, params=params)).json()['results']

    def _post_files(self, path, files, version):
        params = {'version': version} if version else {}
        parts = [('files', (n, bytes(d if d is not None else b''), 'application/octet-stream')) for n, d in files]
        return self._call(lambda: self.http.post(path, files=parts, params=params)).json()['results']

    def predict(self, name, inputs, version=None):
        if input_form(inputs) == 'files':
            return [ImageResult.from_dict(d) for d in self._post_files(f'/v1/models/{name}/predict', inputs, version)]
        return [Prediction.from_dict(d) for d in self._post_records(f'/v1/models/{name}/predict', inputs, version)]

    def feedback(self, name, labels):
        body = dict(labels=[dict(id=int(i), truth=[str(x) for x in t] if isinstance(t, (list, tuple)) else str(t))
                            for i, t in labels])         # a multi-label model's truth: a list of labels
        r = self._call(lambda: self.http.post(f'/v1/models/{name}/feedback', json=body))
        return [d.get('error') for d in r.json()['results']]

    def explain(self, name, inputs, version=None):
        if input_form(inputs) == 'files':
            return [ImageResult.from_dict(d) for d in self._post_files(f'/v1/models/{name}/explain', inputs, version)]
        return [Explanation.from_dict(d) for d in self._post_records(f'/v1/models/{name}/explain', inputs, version)]

    def score_csv(self, name, data, out, version=None, progress=None):
        "Stream the scored CSV into `out`; unused columns from the server's `X-Unused-Columns`."
        params = {'version': version} if version else {}
        unused = []

        def exchange():
            nonlocal unused
            out.seek(0); out.truncate()
            with self.http.stream('POST', f'/v1/models/{name}/predict', content=bytes(data), params=params,
                                  headers={'Content-Type': 'text/csv'}) as r:
                if r.status_code >= 400:
                    r.read(); return r
                unused = json.loads(r.headers.get('X-Unused-Columns') or '[]')
                unused += [''] * (int(r.headers.get('X-Unused-Columns-Count') or 0) - len(unused))   # names not sent
                try:
                    for block in r.iter_bytes(1 << 16):
                        out.write(block)
                except _RETRY:       # not sent again: the rows it scored are logged, a second post would log them twice
                    raise ModelError('the model server stopped while it scored the file (restarted?): the scores '
                                     'are incomplete, send the file again') from None
                return r
        self._call(exchange)
        _raise_trailing_error(out)
        return unused

    def recommend(self, name, user=None, ratings=None, top=10, exclude_seen=True, where=None, exclude=(), version=None):
        body = dict(user=user, ratings=[dict(item=i, rating=r) for i, r in ratings] if ratings is not None else None,
                    top=top, exclude_seen=exclude_seen, where=where, exclude=[str(x) for x in exclude or ()])
        params = {'version': version} if version else {}
        d = self._call(lambda: self.http.post(f'/v1/models/{name}/recommend', json=body, params=params)).json()
        return Recommendations.from_dict(d)

    def similar(self, name, item, top=10, version=None):
        return [RankedItem.from_dict(d) for d in self._get(f'/v1/models/{name}/similar', item=item, top=top,
                                                           version=version)['items']]

    def find_items(self, name, text, most=20, version=None):
        return self._get(f'/v1/models/{name}/items', q=text, most=most, version=version)['items']

    def generate(self, name, text, words=None, temperature=None, seed=None, version=None, stop=None, next_k=5):
        """The continuation as the model server writes it (`/v1/.../generate`, streamed: a JSON line per token, then the
        continuation), each piece yielded as it arrives; `stop()` true closes the stream, and the server stops writing."""
        body = dict(text=text, words=words, temperature=temperature, seed=seed, next=next_k, stream=True)
        req = lambda: self.http.send(self.http.build_request('POST', f'/v1/models/{name}/generate', json=body,
                                                             params={'version': version} if version else {}), stream=True)

        def opened():
            r = req()
            if r.status_code >= 400: r.read(); r.close()
            return r
        r = self._call(opened)
        pieces = []
        try:
            for line in r.iter_lines():
                if not line: continue
                d = json.loads(line)
                if 'token' not in d: yield Continuation.from_dict(d); return
                pieces.append(Piece(d['token'], d['text']))
                yield pieces[-1]
                if stop is not None and stop():
                    yield Continuation(tokens=[p.token for p in pieces], seed=seed, stopped=True,
                                       continuation=''.join(p.text for p in pieces).strip())
                    return
        except _RETRY:
            raise ModelError('the model server stopped while it wrote (restarted?): ask again') from None
        finally:
            r.close()
        raise ModelError('the model server ended the continuation part-way: ask again')

    def next_words(self, name, text, k=5, version=None):
        d = self._call(lambda: self.http.post(f'/v1/models/{name}/generate', json=dict(text=text, next=k, words=0),
                                              params={'version': version} if version else {})).json()
        return Continuation.from_dict(d)

    def live_accuracy(self, name, since=None):
        return self._get(f'/v1/models/{name}/live', since=since or None)

    def drift(self, name, since=None, traffic='single'):
        return self._get(f'/v1/models/{name}/drift', since=since or None, traffic=traffic)

    def close(self): self.http.close()


def _reason(r: httpx.Response) -> str:
    try:
        return str(r.json()['detail'])
    except Exception:  # noqa: BLE001 - not our JSON: a proxy's page
        return f'HTTP {r.status_code}'


def _json_value(v):
    "Form values as JSON: a NaN (an 'unknown' field) is sent as null."
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _raise_trailing_error(out) -> None:
    "The server ends a CSV stream that broke part-way with `STREAM_ERROR` and the reason: cut it off and raise it."
    mark = STREAM_ERROR.encode()
    end = out.tell()
    out.seek(max(0, end - 4096))
    tail = out.read()
    at = tail.rfind(mark)
    if at >= 0:
        out.truncate(end - len(tail) + at)
        raise ModelError(tail[at + len(mark):].decode(errors='replace').strip())
    out.seek(end)
