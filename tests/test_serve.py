"`make serve` itself: the README's command serves the landing page and the apps, and nothing else."
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from helpers import ROOT


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read().decode(errors='replace')
    except urllib.error.HTTPError as e:
        return e.code, ''


@pytest.fixture(scope='module')
def make_serve():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    proc = subprocess.Popen(['make', 'serve', f'PORT={port}'], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f'http://127.0.0.1:{port}/'
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2); break
        except OSError:
            if proc.poll() is not None: raise RuntimeError(proc.stdout.read().decode()[-3000:])
            time.sleep(0.5)
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    try: proc.wait(30)
    except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL)


def test_landing_page_lists_the_apps(make_serve):
    "The landing page is drawn by JavaScript (see the browser tests) from the notebook listing."
    import json
    status, html = _get(make_serve)
    assert status == 200 and 'Voil' in html
    status, listing = _get(make_serve + 'voila/api/contents')
    names = sorted(c['name'] for c in json.loads(listing)['content'])
    assert names == ['00_verify_setup.ipynb', 'image_app.ipynb', 'monitor.ipynb', 'tabular_app.ipynb']


def test_app_page_hides_sources(make_serve):
    status, html = _get(make_serve + 'voila/render/tabular_app.ipynb')
    assert status == 200
    assert 'wait_for_request' not in html and 'preload(' not in html


@pytest.mark.parametrize('path', ['voila/files/models/adult_income/v1/model.pkl',
                                  'voila/files/../README.md', 'voila/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd',
                                  'voila/render/../Makefile', 'api/kernels', 'tree', 'lab'])
def test_nothing_else_is_served(make_serve, path):
    status, body = _get(make_serve + path)
    assert status in (403, 404, 405), (status, body[:200])


def _run(coro_fn):
    "Run a coroutine in its own thread and loop (Playwright's sync API may hold this thread's loop)."
    import asyncio
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as ex:
        return ex.submit(lambda: asyncio.run(coro_fn())).result()


def _kernel_ws(url, html):
    import re
    kid = re.search(r'"kernelId": "([0-9a-f-]+)"', html).group(1)
    return url.replace('http://', 'ws://') + f'api/kernels/{kid}/channels'


def _msg(msg_type, content):
    import datetime
    import uuid
    return dict(header=dict(msg_id=uuid.uuid4().hex, username='t', session=uuid.uuid4().hex, msg_type=msg_type,
                            version='5.3', date=datetime.datetime.now(datetime.timezone.utc).isoformat()),
                parent_header={}, metadata={}, content=content, channel='shell', buffers=[])


def test_a_page_cannot_run_code_in_its_kernel(make_serve, tmp_path):
    "Voilà passes only widget messages to the kernel: an execute_request is dropped (checked with a control)."
    import asyncio
    import json
    from tornado.websocket import websocket_connect
    status, html = _get(make_serve + 'voila/render/tabular_app.ipynb')
    assert status == 200
    ws_url = _kernel_ws(make_serve, html)
    marker = tmp_path / 'pwned'

    async def talk():
        ws = await websocket_connect(ws_url)
        info = _msg('kernel_info_request', {})
        ws.write_message(json.dumps(info))
        execute = _msg('execute_request', dict(code=f'open({str(marker)!r}, "w").write("x")', silent=False,
                                               store_history=False, user_expressions={}, allow_stdin=False))
        ws.write_message(json.dumps(execute))
        replies = []
        try:
            while True:
                m = await asyncio.wait_for(ws.read_message(), 8)
                if m is None: break
                if isinstance(m, str): replies.append(json.loads(m))
        except asyncio.TimeoutError:
            pass
        ws.close()
        return info, execute, replies

    info, execute, replies = _run(talk)
    answered = {}
    for r in replies: answered.setdefault(r.get('parent_header', {}).get('msg_id'), set()).add(r['msg_type'])
    assert 'kernel_info_reply' in answered.get(info['header']['msg_id'], ()), 'control: the channel works'
    assert execute['header']['msg_id'] not in answered, 'the kernel must not see an execute_request'
    assert not marker.exists()


class _Kernel:
    "A client speaking the widget protocol over a served page's kernel websocket, as a forged browser would."

    def __init__(self, ws):
        self.ws, self.seen = ws, []

    async def send(self, msg_type, content):
        import json
        m = _msg(msg_type, content)
        await self.ws.write_message(json.dumps(m))
        return m['header']['msg_id']

    async def read_until(self, pred, timeout=20):
        import asyncio
        import json
        import time
        end = time.time() + timeout
        while time.time() < end:
            try:
                raw = await asyncio.wait_for(self.ws.read_message(), max(0.1, end - time.time()))
            except asyncio.TimeoutError:
                break
            if raw is None: break
            if isinstance(raw, bytes): continue     # binary frames carry buffers; not needed here
            m = json.loads(raw)
            self.seen.append(m)
            if pred(m): return m
        return None

    async def widget_states(self):
        mid = await self.send('comm_info_request', {'target_name': 'jupyter.widget'})
        reply = await self.read_until(lambda m: m['msg_type'] == 'comm_info_reply')
        states = {}
        for cid in reply['content']['comms']:
            await self.send('comm_msg', {'comm_id': cid, 'data': {'method': 'request_state'}})
            m = await self.read_until(lambda m: m['msg_type'] == 'comm_msg' and m['content']['comm_id'] == cid)
            if m: states[cid] = m['content']['data']['state']
        return states


def test_forged_widget_messages_are_validated_by_the_server(make_serve):
    "A client can set any widget value over comm_msg; the callbacks re-validate and the app keeps working."
    import asyncio
    from tornado.websocket import websocket_connect
    status, html = _get(make_serve + 'voila/render/tabular_app.ipynb')

    def find(states, cls):
        return next(cid for cid, s in states.items() if cls in (s.get('_dom_classes') or []))

    async def scenario():
        k = _Kernel(await websocket_connect(_kernel_ws(make_serve, html)))
        states = await k.widget_states()
        gain, button, result = (find(states, c) for c in ('app-input-capital-gain', 'app-predict', 'app-result'))
        workclass = find(states, 'app-input-workclass')
        result_text = lambda m: (m['msg_type'] == 'comm_msg' and m['content']['comm_id'] == result
                                 and 'value' in m['content']['data'].get('state', {}))

        async def click():
            await k.send('comm_msg', {'comm_id': button, 'data': {'method': 'custom', 'content': {'event': 'click'}}})
            m = await k.read_until(result_text, 30)
            return m and m['content']['data']['state']['value']

        out = {}
        await k.send('comm_msg', {'comm_id': gain, 'data': {'method': 'update', 'state': {'value': 10 ** 300},
                                                            'buffer_paths': []}})
        out['huge'] = await click()
        await k.send('comm_msg', {'comm_id': workclass, 'data': {'method': 'update', 'state': {'index': 999},
                                                                 'buffer_paths': []}})
        await k.send('comm_msg', {'comm_id': gain, 'data': {'method': 'update', 'state': {'value': 0},
                                                            'buffer_paths': []}})
        out['after'] = await click()
        k.ws.close()
        return out

    out = _run(scenario)
    assert out['huge'] and 'capital-gain=1e+300 is too far outside the training data' in out['huge']
    assert 'No prediction' in out['huge'] and 'nan%' not in out['huge']
    assert out['after'] and 'Predicted salary:' in out['after'], 'the app keeps working after an off-list index'
