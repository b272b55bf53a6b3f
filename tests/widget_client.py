"""A client speaking Jupyter's widget protocol over a served Voila page's kernel websocket, as the
page's JavaScript does (and as a forged browser could). Used by tests/test_serve.py and benchmarks/."""
import asyncio
import datetime
import json
import re
import struct
import time
import urllib.error
import urllib.request
import uuid

__all__ = ['get', 'kernel_ws_url', 'msg', 'WidgetClient', 'open_app']


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


def _json_part(frame: bytes) -> bytes:
    "The message of a binary websocket frame (Jupyter's framing: count, offsets, message, buffers)."
    n = struct.unpack('!I', frame[:4])[0]
    offsets = struct.unpack('!' + 'I' * n, frame[4:4 + 4 * n])
    return frame[offsets[0]:offsets[1] if n > 1 else len(frame)]


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
        await self.ws.write_message(json.dumps(m))
        return m['header']['msg_id']

    async def read_until(self, pred, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            try:
                raw = await asyncio.wait_for(self.ws.read_message(), max(0.1, end - time.time()))
            except asyncio.TimeoutError:
                break
            if raw is None: break
            try:
                m = json.loads(_json_part(raw) if isinstance(raw, bytes) else raw)   # (buffers are not needed here)
            except (ValueError, struct.error):
                continue
            self.seen.append(m)
            if m['msg_type'] == 'comm_msg' and m['content']['data'].get('method') == 'update':
                self.states.setdefault(m['content']['comm_id'], {}).update(m['content']['data'].get('state', {}))
            if pred(m): return m
        return None

    async def widget_states(self, timeout=120):
        "Every widget's state, asked for all at once as the page's widget manager does."
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
        "An update carrying binary buffers (a FileUpload's content), in Jupyter's binary websocket framing."
        import struct
        m = msg('comm_msg', {'comm_id': comm_id, 'data': {'method': 'update', 'state': state,
                                                          'buffer_paths': buffer_paths}}, self.session)
        m.pop('buffers')
        parts = [json.dumps(m).encode(), *map(bytes, buffers)]
        offsets = [4 * (len(parts) + 1)]
        for p in parts[:-1]: offsets.append(offsets[-1] + len(p))
        await self.ws.write_message(struct.pack('!' + 'I' * (len(parts) + 1), len(parts), *offsets)
                                    + b''.join(parts), binary=True)

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


async def open_app(base_url, notebook='tabular_app.ipynb', timeout=300):
    "GET the app page (its kernel starts), connect to the kernel, read the widgets: a WidgetClient."
    from tornado.httpclient import AsyncHTTPClient
    from tornado.websocket import websocket_connect
    r = await AsyncHTTPClient().fetch(base_url + f'voila/render/{notebook}', request_timeout=timeout,
                                      raise_error=False)
    if r.code != 200: raise RuntimeError(f'HTTP {r.code}: {r.body[:300]!r}')
    c = WidgetClient(await websocket_connect(kernel_ws_url(base_url, r.body.decode())))
    await c.widget_states()
    return c
