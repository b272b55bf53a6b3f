"""A client speaking Jupyter's widget protocol over a served Voila page's kernel websocket, as the
page's JavaScript does (and as a forged browser could): the v1 websocket protocol, the page's
cookies. Used by tests/test_serve.py and benchmarks/."""
import asyncio
import datetime
import json
import re
import time
import urllib.error
import urllib.request
import uuid

from predictors.web.handlers import v1_parts   # (imports Voila's server side: ~3 s, paid here, never inside a timing)

__all__ = ['close_pages', 'together', 'get', 'kernel_ws_url', 'msg', 'WidgetClient', 'open_app', 'open_page', 'page_cookie', 'v1_frame', 'read_frame',
           'connect_kernel']

V1 = 'v1.kernel.websocket.jupyter.org'


def get(url, timeout=120):
    "(status, body) of a GET; HTTP errors are returned, not raised."
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode(errors='replace')
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors='replace')


def kernel_ws_url(base_url, html):
    kid = re.search(r'"kernelId": "([0-9a-f-]+)"', html).group(1)
    return base_url.replace('http://', 'ws://') + f'api/kernels/{kid}/channels'


def v1_frame(m: dict, buffers=()) -> bytes:
    "A message in the v1 kernel websocket framing: part count, offsets, channel, header, parent, metadata, content, buffers."
    parts = [m.get('channel', 'shell').encode()] + [json.dumps(m[k]).encode() for k in
                                                    ('header', 'parent_header', 'metadata', 'content')]
    parts += [bytes(b) for b in buffers]
    n = len(parts) + 1
    offsets = [8 * (n + 1)]
    for p in parts: offsets.append(offsets[-1] + len(p))
    return b''.join(x.to_bytes(8, 'little') for x in [n, *offsets]) + b''.join(parts)


def read_frame(raw) -> dict | None:
    "A message from a v1 frame (buffers left out), or None."
    parts = v1_parts(raw) if isinstance(raw, bytes) else None
    if parts is None: return None
    try:
        m = {k: json.loads(p) for k, p in zip(('header', 'parent_header', 'metadata', 'content'), parts[1:5])}
    except ValueError:
        return None
    m['channel'], m['msg_type'] = parts[0].decode(), m['header'].get('msg_type')
    return m


async def connect_kernel(ws_url, cookie=None, subprotocols=(V1,), headers=None):
    "The kernel websocket as the page opens it (v1 protocol, the page's cookies; more `headers` if given)."
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect
    req = HTTPRequest(ws_url, headers={**({'Cookie': cookie} if cookie else {}), **(headers or {})})
    return await websocket_connect(req, subprotocols=list(subprotocols) or None)


def msg(msg_type, content, session=None):
    return dict(header=dict(msg_id=uuid.uuid4().hex, username='client', session=session or uuid.uuid4().hex,
                            msg_type=msg_type, version='5.3',
                            date=datetime.datetime.now(datetime.timezone.utc).isoformat()),
                parent_header={}, metadata={}, content=content, channel='shell', buffers=[])


class WidgetClient:
    "One app session: the page's kernel, its widgets' states, updates and button clicks."

    def __init__(self, ws):
        self.ws, self.seen, self.session, self.states = ws, [], uuid.uuid4().hex, {}

    async def send(self, msg_type, content):
        m = msg(msg_type, content, self.session)
        await self.ws.write_message(v1_frame(m), binary=True)
        return m['header']['msg_id']

    async def read_until(self, pred, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            try:
                raw = await asyncio.wait_for(self.ws.read_message(), max(0.1, end - time.time()))
            except asyncio.TimeoutError:
                break
            if raw is None: break
            m = read_frame(raw)                 # (buffers are not needed here)
            if m is None: continue
            self.seen.append(m)
            if m['msg_type'] == 'comm_msg' and m['content']['data'].get('method') == 'update':
                self.states.setdefault(m['content']['comm_id'], {}).update(m['content']['data'].get('state', {}))
            if pred(m): return m
        return None

    async def widget_states(self, timeout=120):
        """Every widget's state, as the page's widget manager (ipywidgets 8) asks for it: one `request_states` on
        the `jupyter.widget.control` comm; the widgets one by one if the kernel does not answer that in 4 s."""
        cid = uuid.uuid4().hex
        m = msg('comm_open', {'comm_id': cid, 'target_name': 'jupyter.widget.control', 'data': {}}, self.session)
        m['metadata'] = {'version': '1.0.0'}
        await self.ws.write_message(v1_frame(m), binary=True)
        await self.send('comm_msg', {'comm_id': cid, 'data': {'method': 'request_states'}})
        reply = await self.read_until(lambda m: m['msg_type'] == 'comm_msg' and m['content']['comm_id'] == cid, 4)
        await self.send('comm_close', {'comm_id': cid, 'data': {}})
        if reply is not None:
            self.states.update({k: v['state'] for k, v in reply['content']['data']['states'].items()})
            return self.states
        return await self.widget_states_one_by_one(timeout)

    async def widget_states_one_by_one(self, timeout=120):
        "Every widget's state, asked for widget by widget (the page's fallback)."
        await self.send('comm_info_request', {'target_name': 'jupyter.widget'})
        reply = await self.read_until(lambda m: m['msg_type'] == 'comm_info_reply')
        waiting = set(reply['content']['comms'])
        for cid in waiting:
            await self.send('comm_msg', {'comm_id': cid, 'data': {'method': 'request_state'}})

        def got(m):
            if m['msg_type'] == 'comm_msg' and m['content']['comm_id'] in waiting \
                    and m['content']['data'].get('method') == 'update':
                self.states[m['content']['comm_id']] = m['content']['data']['state']
                waiting.discard(m['content']['comm_id'])
            return not waiting
        if waiting: await self.read_until(got, timeout)
        return self.states

    def find(self, css_class):
        "The comm id of the widget with this CSS class."
        return next(cid for cid, s in self.states.items() if css_class in (s.get('_dom_classes') or []))

    async def update(self, comm_id, **state):
        await self.send('comm_msg', {'comm_id': comm_id, 'data': {'method': 'update', 'state': state,
                                                                  'buffer_paths': []}})

    async def update_with_buffers(self, comm_id, state, buffer_paths, buffers):
        "An update carrying binary buffers (a FileUpload's content)."
        m = msg('comm_msg', {'comm_id': comm_id, 'data': {'method': 'update', 'state': state,
                                                          'buffer_paths': buffer_paths}}, self.session)
        await self.ws.write_message(v1_frame(m, buffers), binary=True)

    async def read_value(self, comm_id, timeout=30):
        "The next `value` the widget is given (None on timeout)."
        m = await self.read_until(lambda m: (m['msg_type'] == 'comm_msg' and m['content']['comm_id'] == comm_id
                                             and 'value' in m['content']['data'].get('state', {})), timeout)
        return m and m['content']['data']['state']['value']

    async def click_and_read(self, button, result, timeout=30):
        """Click a Button; the `result` widget's value once the kernel has handled the click (it
        may be unchanged: an equal value is not sent again). None on timeout."""
        mid = await self.send('comm_msg', {'comm_id': button, 'data': {'method': 'custom',
                                                                       'content': {'event': 'click'}}})
        done = await self.read_until(lambda m: (m['msg_type'] == 'status' and m['content']['execution_state'] == 'idle'
                                                and m['parent_header'].get('msg_id') == mid), timeout)
        return done and self.states[result].get('value')

    def close(self):
        self.ws.close()


def page_cookie(response) -> str:
    "The cookies a page response set, as a Cookie header."
    return '; '.join(c.split(';', 1)[0] for c in response.headers.get_list('Set-Cookie'))


async def open_page(base_url, notebook='tabular_app.ipynb', timeout=300, cookie=None):
    "GET the app page (its kernel starts): (kernel websocket URL, the visitor's cookie)."
    from tornado.httpclient import AsyncHTTPClient
    r = await AsyncHTTPClient().fetch(base_url + f'voila/render/{notebook}', request_timeout=timeout,
                                      raise_error=False, headers={'Cookie': cookie} if cookie else None)
    if r.code != 200: raise RuntimeError(f'HTTP {r.code}: {r.body[:300]!r}')
    ws_url, cookie = kernel_ws_url(base_url, r.body.decode()), cookie or page_cookie(r)
    OPENED.append((base_url, ws_url.split('/')[-2], cookie))
    return ws_url, cookie


OPENED: list[tuple[str, str, str]] = []     # (server, kernel id, the visitor's cookie) of the pages opened here


def close_pages() -> None:
    "Close the pages `open_page` opened, as closing their tabs does (Voila's page asks for its kernel's shutdown)."
    while OPENED:
        base_url, kid, cookie = OPENED.pop()
        req = urllib.request.Request(base_url + f'voila/api/shutdown/{kid}', data=b'', method='POST',
                                     headers={'Cookie': f'{cookie}; _xsrf=x', 'X-XSRFToken': 'x'})
        try:
            urllib.request.urlopen(req, timeout=30).close()
        except OSError:
            pass                                 # gone already (the test ended it, or the server stopped)


async def open_app(base_url, notebook='tabular_app.ipynb', timeout=300):
    "GET the app page (its kernel starts), connect to the kernel as its page, read the widgets: a WidgetClient."
    ws_url, cookie = await open_page(base_url, notebook, timeout)
    c = WidgetClient(await connect_kernel(ws_url, cookie))
    await c.widget_states()
    return c


def together(coros: list) -> list:
    "Run the visitors' coroutines `coros` at once, their page loads too (an HTTP client slot each): their results."
    async def run():
        from tornado.httpclient import AsyncHTTPClient
        AsyncHTTPClient.configure(None, max_clients=len(coros))
        return await asyncio.gather(*coros)
    return asyncio.run(run())
