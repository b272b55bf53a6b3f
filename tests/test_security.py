"""Serving to a team safely (#12): each test replays an attack on the served apps (`python -m predictors
serve`, as `make serve` runs it) and checks it fails, with a control that the same path works for the
rightful user."""
import asyncio
import os
import subprocess
import time
import urllib.request

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from helpers import run_async
from harness.voila_server import ROOT, VoilaServer, free_port
from harness.widget_client import (V1, WidgetClient, close_pages, connect_kernel, get, msg, open_page, page_cookie, read_frame,
                           v1_frame)


@pytest.fixture(scope='module')
def doors(tmp_path_factory):
    "Both doors; at most 30 kernels per door, 10 per address, a page that does not connect within 4 s loses its kernel."
    d = tmp_path_factory.mktemp('doors')
    with VoilaServer(['notebooks', '--CappedKernelManager.max_kernels=30', '--CappedKernelManager.connect_grace=4',
                      '--CappedKernelManager.max_kernels_per_address=10',
                      '--VoilaKernelManager.kernel_pools_config={"default": {"pool_size": 1}}'], serve=True,
                     env=dict(FASTAI_APPS_LOG=d / 'log.db', FASTAI_APPS_HOSTS='apps.example.org'),
                     log=d / 'serve.log') as srv:
        srv.wait_for_pools(7)
        yield srv


@pytest.fixture(autouse=True)
def _tabs_closed():
    "Each test's pages are closed after it (their kernels free the address's share, 10 here), as a visitor's tabs are."
    yield
    close_pages()


async def _fetch(url, method='GET', headers=None, body=None):
    r = await AsyncHTTPClient().fetch(HTTPRequest(url, method=method, headers=headers, body=body,
                                                  follow_redirects=False, request_timeout=120), raise_error=False)
    return r


async def _refused(ws_url, cookie=None, subprotocols=(V1,), headers=None) -> int:
    "The HTTP status a kernel websocket is refused with (0 if it connects)."
    try:
        ws = await connect_kernel(ws_url, cookie, subprotocols, headers)
    except HTTPClientError as e:
        return e.code
    ws.close()
    return 0


async def _answers(ws) -> bool:
    "The kernel behind a websocket still answers a kernel_info_request."
    m = msg('kernel_info_request', {})
    await ws.write_message(v1_frame(m), binary=True)
    end = time.time() + 60
    while time.time() < end:
        raw = await asyncio.wait_for(ws.read_message(), 60)
        if raw is None: return False
        r = read_frame(raw)
        if r and r['msg_type'] == 'kernel_info_reply' and r['parent_header'].get('msg_id') == m['header']['msg_id']:
            return True
    return False


async def _page_answers(ws_url, cookie) -> bool:
    "The page's own kernel, on a new websocket as the page opens it, answers."
    ws = await connect_kernel(ws_url, cookie)
    try:
        return await _answers(ws)
    finally:
        ws.close()


@pytest.mark.parametrize('path', ['voila/render/monitor.ipynb', 'voila/render/00_verify_setup.ipynb',
                                  'voila/tree/monitor.ipynb', 'voila/files/monitor.ipynb',
                                  'voila/api/contents/monitor.ipynb', 'voila/render/notebooks/monitor.ipynb'])
def test_the_visitors_door_has_no_operator_pages(doors, path):
    "The monitor shows other people's inputs and the setup check the server's paths: not through the visitors' door."
    assert get(doors.url + path)[0] in (403, 404)
    assert get(doors.url + 'voila/render/tabular_app.ipynb')[0] == 200          # control


def test_the_visitors_door_lists_the_apps_only(doors):
    import json
    names = sorted(c['name'] for c in json.loads(get(doors.url + 'voila/api/contents')[1])['content'])
    assert names == ['image_app.ipynb', 'recommender_app.ipynb', 'tabular_app.ipynb', 'text_app.ipynb', 'writer_app.ipynb']


def test_the_operators_door_needs_its_token(doors):
    "No token: no page, no kernel websocket. The token in the address becomes a cookie and leaves the address."
    page = doors.operator_url + 'voila/render/monitor.ipynb'

    async def scenario():
        out = {'bare': await _fetch(page), 'wrong': await _fetch(page + '?token=guess')}
        out['ws'] = await _refused(doors.operator_url.replace('http', 'ws') +
                                   'api/kernels/00000000-0000-0000-0000-000000000000/channels')
        signed = await _fetch(page + f'?token={doors.operator_token}&window=7d')
        out['signed'] = signed
        cookie = page_cookie(signed)
        out['with_cookie'] = await _fetch(page + '?window=7d', headers={'Cookie': cookie})
        ws_url, _ = await open_page(doors.operator_url, 'monitor.ipynb', cookie=cookie)
        out['answers'] = await _page_answers(ws_url, cookie)
        return out

    out = run_async(scenario())
    for k in ('bare', 'wrong'):
        assert out[k].code == 302 and '/login' in out[k].headers['Location'], k
    assert out['ws'] == 403
    s = out['signed']
    assert s.code == 302 and s.headers['Location'] == '/voila/render/monitor.ipynb?window=7d'
    cookie = s.headers['Set-Cookie']
    assert 'HttpOnly' in cookie and 'SameSite=Lax' in cookie and doors.operator_token not in cookie
    assert out['with_cookie'].code == 200 and b'kernelId' in out['with_cookie'].body
    assert out['answers']
    assert doors.operator_token not in doors.log_text(), 'the token must never be logged'
    assert 'token=[secret]' in doors.log_text(), 'the sign-in request is logged with its token scrubbed'


def test_a_kernel_websocket_must_speak_v1(doors):
    """The old (v0) protocol is refused before the upgrade: Voilà 0.5.13 reads every outgoing frame as v1,
    and one binary v0 upload made the server loop and grow until the OOM killer ended it."""
    async def scenario():
        ws_url, cookie = await open_page(doors.url)
        return await _refused(ws_url, cookie, subprotocols=()), await _page_answers(ws_url, cookie)
    v0, ok = run_async(scenario())
    assert v0 == 400 and ok


def test_a_malformed_frame_closes_its_socket_only(doors):
    "A v1 frame claiming 10^17 parts (Jupyter would loop building the offsets) closes that socket; all else goes on."
    import psutil
    voila = [p for p in doors.processes() if 'door=visitors' in ' '.join(p.cmdline())][0]
    before = voila.memory_info().rss

    async def scenario():
        ws_url, cookie = await open_page(doors.url)
        ws = await connect_kernel(ws_url, cookie)
        await ws.write_message((10 ** 17).to_bytes(8, 'little') + b'\0' * 64, binary=True)
        while await asyncio.wait_for(ws.read_message(), 30) is not None: pass
        return ws.close_code, await _page_answers(ws_url, cookie)
    code, ok = run_async(scenario())
    assert code == 1003 and ok
    assert voila.memory_info().rss < before + 200 * 2 ** 20
    assert psutil.pid_exists(voila.pid)


def test_a_kernel_id_alone_grants_nothing(doors):
    "Another visitor (or nobody) with a kernel's id cannot connect to it, read it or shut it down; its page can."
    async def scenario():
        ws_url, owner = await open_page(doors.url)
        kid = ws_url.split('/')[-2]
        _, stranger = await open_page(doors.url)
        out = {'ws_none': await _refused(ws_url), 'ws_stranger': await _refused(ws_url, stranger)}
        xsrf = {'Cookie': f'{stranger}; _xsrf=x', 'X-XSRFToken': 'x'}
        out['get'] = (await _fetch(doors.url + f'api/kernels/{kid}', headers={'Cookie': stranger})).code
        out['delete'] = (await _fetch(doors.url + f'api/kernels/{kid}', 'DELETE', xsrf)).code
        out['shutdown'] = (await _fetch(doors.url + f'voila/api/shutdown/{kid}', 'POST', xsrf, b'')).code
        out['alive'] = kid in doors.kernels()
        out['owner_get'] = (await _fetch(doors.url + f'api/kernels/{kid}', headers={'Cookie': owner})).code
        out['owner_ws'] = await _page_answers(ws_url, owner)
        return out
    out = run_async(scenario())
    assert out['ws_none'] == 403 and out['ws_stranger'] == 403
    assert out['get'] == 403 and out['delete'] == 403 and out['shutdown'] == 403 and out['alive']
    assert out['owner_get'] == 200 and out['owner_ws']


def test_unknown_host_names_are_refused(doors):
    "DNS rebinding: a page on attacker.example resolving to 127.0.0.1 reaches nothing."
    async def scenario():
        port = doors.port
        bad = await _fetch(doors.url + 'voila/render/tabular_app.ipynb', headers={'Host': f'attacker.example:{port}'})
        good = await _fetch(doors.url, headers={'Host': f'localhost:{port}'})
        named = await _fetch(doors.url, headers={'Host': f'apps.example.org:{port}'})   # in FASTAI_APPS_HOSTS
        ws_url, cookie = await open_page(doors.url)
        ws = await _refused(ws_url, cookie, headers={'Host': f'attacker.example:{port}'})
        return bad.code, good.code, named.code, ws
    assert run_async(scenario()) == (403, 200, 200, 403)


def test_no_traceback_reaches_a_page(doors):
    "A comm_open with an empty state made the kernel send a traceback with server paths to the page."
    async def scenario():
        ws_url, cookie = await open_page(doors.url)
        c = WidgetClient(await connect_kernel(ws_url, cookie))
        await c.widget_states()
        await c.send('comm_open', {'comm_id': 'f' * 32, 'target_name': 'jupyter.widget', 'data': {}})
        await c.send('comm_msg', {'comm_id': 'f' * 32, 'data': {'method': 'update', 'state': None}})
        await c.read_until(lambda m: False, timeout=6)
        ok = await _answers(c.ws)
        c.close()
        return c.seen, ok
    seen, ok = run_async(scenario())
    assert ok
    text = repr(seen)
    assert not [m for m in seen if m['msg_type'] == 'error' or (m['msg_type'] == 'stream'
                                                                and m['content'].get('name') == 'stderr')]
    assert 'Traceback' not in text and str(ROOT) not in text and 'site-packages' not in text


def test_a_message_up_to_the_limit_passes_and_one_over_is_refused(doors):
    "The websocket limit in voila.json (128 MiB) is the real one: tornado's 100 MiB read buffer is sized to it."
    async def scenario():
        ws_url, cookie = await open_page(doors.url)
        out = []
        for size in (110 * 2 ** 20, 129 * 2 ** 20):
            ws = await connect_kernel(ws_url, cookie)
            m = msg('comm_msg', {'comm_id': 'no-such-comm', 'data': {'method': 'custom', 'content': {}}})
            try:
                await ws.write_message(v1_frame(m, [b'\0' * size]), binary=True)
                out.append(await _answers(ws))
            except Exception:  # noqa: BLE001 - closed
                out.append(False)
            ws.close()
        return out
    assert run_async(scenario()) == [True, False]


def _get_from(address: str, url: str):
    "(status, body) of a GET sent from `address` (another loopback address: a client of its own)."
    import http.client
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    con = http.client.HTTPConnection(u.hostname, u.port, timeout=120, source_address=(address, 0))
    try:
        con.request('GET', u.path)
        r = con.getresponse()
        return r.status, r.read().decode(errors='replace')
    finally:
        con.close()


def test_pages_that_never_connect_give_their_kernel_back(doors):
    """Quick page loads from one address take at most its share of the kernels (one client could hold every
    session); kernels whose page never connected are shut down within seconds, not 15 min."""
    from concurrent.futures import ThreadPoolExecutor
    page = doors.url + 'voila/render/tabular_app.ipynb'
    with ThreadPoolExecutor(14) as ex:             # at once, as a script would
        got = list(ex.map(lambda _: _get_from('127.0.0.5', page), range(14)))
    codes = [c for c, _ in got]
    assert codes.count(200) == 10 and codes.count(503) == 4, codes
    assert 'You have 10 app sessions open, the most one address may hold' in got[codes.index(503)][1]
    assert _get_from('127.0.0.6', page)[0] == 200, 'another address has its own share'
    end, code = time.time() + 90, 503
    while time.time() < end and code != 200:      # the address's share comes back once they are shut down
        time.sleep(1)
        code = _get_from('127.0.0.5', page)[0]
    assert code == 200
    assert 'its page never connected within 4 s' in doors.log_text()


def test_serving_beyond_loopback_needs_a_token(tmp_path):
    "`HOST=0.0.0.0 make serve` with no token starts nothing and says why."
    env = {k: v for k, v in os.environ.items() if k != 'FASTAI_APPS_TOKEN'}
    ports = [free_port() for _ in range(3)]
    r = subprocess.run(['make', 'serve', 'HOST=0.0.0.0', f'PORT={ports[0]}', f'API_PORT={ports[1]}',
                        f'OPERATOR_PORT={ports[2]}'], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert 'refusing to serve on 0.0.0.0 without sign-in' in r.stderr and 'FASTAI_APPS_TOKEN' in r.stderr
    for p in ports:
        with pytest.raises(OSError):
            urllib.request.urlopen(f'http://127.0.0.1:{p}/', timeout=2)


def test_v1_frames_are_checked_before_jupyter_reads_them():
    from predictors.web.appserver import v1_parts
    m = msg('comm_msg', {'comm_id': 'c', 'data': {}})
    good = v1_frame(m, [b'buf'])
    parts = v1_parts(good)
    assert parts[0] == b'shell' and read_frame(good)['msg_type'] == 'comm_msg' and parts[-1] == b'buf'
    n = int.from_bytes(good[:8], 'little')
    bad = {
        'a count of 10^17': (10 ** 17).to_bytes(8, 'little') + good[8:],
        'too few parts': (3).to_bytes(8, 'little') + good[8:],
        'offsets past the end': good[:16] + (len(good) + 5).to_bytes(8, 'little') + good[24:],
        'offsets out of order': good[:8 * n] + (0).to_bytes(8, 'little') + good[8 * (n + 1):],
        'short': good[:5], 'text': 'not bytes',
    }
    for what, frame in bad.items():
        assert v1_parts(frame) is None, what


def test_serve_prunes_the_log_at_start_and_refuses_a_bad_keep(tmp_path, monkeypatch):
    "`make serve KEEP=30d` deletes what is older at start (and daily); a --keep it cannot read starts nothing."
    import sys
    from predictors.monitoring.log import PredictionLog
    from predictors.ops.supervise import _prune
    log_db, now = tmp_path / 'log.db', time.time()
    log = PredictionLog(log_db)
    for age_days in (40, 1):
        monkeypatch.setattr('predictors.monitoring.log.time.time', lambda a=age_days: now - a * 86400)
        log.record('m', 'v1', 'tabular', [dict(inputs={'age': age_days}, prediction='a')])
    monkeypatch.undo()
    _prune('30d', str(log_db))
    assert PredictionLog(log_db).read()['inputs'].map(lambda d: d['age']).tolist() == [1]
    r = subprocess.run([sys.executable, '-m', 'predictors', 'serve', '--keep', 'forever', '--port', str(free_port()),
                        '--api-port', str(free_port()), '--operator-port', str(free_port())],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--keep: cannot read the time 'forever'" in r.stderr


def _kernel_id(ws_url: str) -> str:
    return ws_url.split('/api/kernels/')[1].split('/')[0]


def test_forged_widget_messages_neither_grow_the_kernel_nor_lift_a_limit(doors):
    """The attacks: widgets the page creates with 20 MB values (69 → 549 MB in 20 messages, kept until the cull);
    a menu set to no choice (index None: 'Type of employer None'); the drop zone's `max_files` raised. All are
    dropped in the kernel; the page's rightful messages still work."""
    import uuid
    big = 'x' * (20 * 2 ** 20)
    text_state = dict(_model_module='@jupyter-widgets/controls', _model_module_version='2.0.0', _model_name='TextModel',
                      _view_module='@jupyter-widgets/controls', _view_module_version='2.0.0', _view_name='TextView')

    async def scenario():
        ws_url, cookie = await open_page(doors.url)
        c = WidgetClient(await connect_kernel(ws_url, cookie))
        states = await c.widget_states()
        kernel = doors.kernels()[_kernel_id(ws_url)]
        before = kernel.memory_info().rss
        for _ in range(10):
            cid = uuid.uuid4().hex
            m = msg('comm_open', {'comm_id': cid, 'target_name': 'jupyter.widget',
                                  'data': {'state': dict(text_state, value=big), 'buffer_paths': []}}, c.session)
            m['metadata'] = {'version': '2.1.0'}
            await c.ws.write_message(v1_frame(m), binary=True)
            await c.update(cid, value=big)
        text = next(k for k, s in states.items() if s.get('_model_name') == 'TextModel')
        for _ in range(10): await c.update(text, value=big)
        menu = next(k for k, s in states.items() if s.get('_model_name') == 'DropdownModel' and s.get('index') is not None)
        await c.update(menu, index=None)
        await c.update(text, value='41')                    # a person's typing still arrives
        await asyncio.sleep(3)
        assert await _answers(c.ws)
        grown = (kernel.memory_info().rss - before) / 2 ** 20
        c.states.clear()
        await c.send('comm_msg', {'comm_id': menu, 'data': {'method': 'request_state'}})
        await c.send('comm_msg', {'comm_id': text, 'data': {'method': 'request_state'}})
        await c.read_until(lambda m: menu in c.states and text in c.states, timeout=30)
        menu_index, typed = c.states[menu].get('index'), c.states[text].get('value')
        c.close()
        ws_url, cookie = await open_page(doors.url, 'image_app.ipynb')
        c = WidgetClient(await connect_kernel(ws_url, cookie))
        await c.widget_states()
        zone = c.find('app-upload')
        await c.update(zone, max_files=1000, max_total_bytes=2 ** 40)
        c.states.clear()
        await c.send('comm_msg', {'comm_id': zone, 'data': {'method': 'request_state'}})
        await c.read_until(lambda m: zone in c.states, timeout=30)
        zone_state = c.states[zone]
        c.close()
        return grown, menu_index, typed, zone_state
    grown, menu_index, typed, zone = run_async(scenario())
    assert grown < 50, f'the kernel grew by {grown:.0f} MB'
    assert isinstance(menu_index, int) and typed == '41'
    assert zone['max_files'] == 64 and zone['max_total_bytes'] == 100 * 2 ** 20
    assert 'Dropped a widget the page tried to create' in doors.log_text()


@pytest.mark.parametrize('how', ['killed', 'shutdown_request'])
def test_a_kernel_restarted_under_its_page_ends_the_session(doors, how):
    """A page's kernel killed (SIGKILL) or told to shut down by a forged message: Jupyter started an empty kernel
    under the same id, so the page's session watch saw it alive and the page stayed silently dead. Now the
    restarted kernel is shut down: the kernel is gone (404), which the page shows as *session expired*."""
    import signal

    async def scenario():
        ws_url, cookie = await open_page(doors.url)
        c = WidgetClient(await connect_kernel(ws_url, cookie))
        await c.widget_states()
        kid = _kernel_id(ws_url)
        status = lambda: _fetch(doors.url + f'api/kernels/{kid}', headers={'Cookie': cookie})
        alive = (await status()).code
        if how == 'killed':
            doors.kernels()[kid].send_signal(signal.SIGKILL)
        else:
            m = msg('shutdown_request', {'restart': False}, c.session)
            m['channel'] = 'control'
            await c.ws.write_message(v1_frame(m), binary=True)
        end, code = time.time() + 60, 200
        while time.time() < end and code == 200:
            await asyncio.sleep(1)
            code = (await status()).code
        c.close()
        return alive, code
    assert run_async(scenario()) == (200, 404)


def test_a_kernel_over_its_memory_limit_is_shut_down():
    "The memory watch: a page's kernel over `max_kernel_memory` MB is shut down with the reason; others are left."
    from predictors.web.kernels import CappedKernelManager
    km = CappedKernelManager(max_kernel_memory=500)
    km._owners = {'big': 'visitor-1', 'small': 'visitor-2'}
    km._memory_mb = {'big': 700.0, 'small': 120.0}.get
    ended = []

    async def end(kid, why):
        ended.append((kid, why)); return True
    km._end = end
    run_async(km._sweep())
    assert ended == [('big', 'it took 700 MB, over the limit of 500 MB')]


@pytest.mark.parametrize('variable', ['FASTAI_APPS_TOKEN', 'FASTAI_APPS_OPERATOR_TOKEN', 'FASTAI_APPS_API_TOKEN'])
def test_a_weak_token_is_refused_at_start(variable):
    "A 6-character token (any strength was accepted) stops `serve` before anything starts, saying how to make one."
    import sys
    ports = [free_port() for _ in range(3)]
    r = subprocess.run([sys.executable, '-m', 'predictors', 'serve', '--port', str(ports[0]), '--api-port', str(ports[1]),
                        '--operator-port', str(ports[2])], cwd=ROOT, env=dict(os.environ, **{variable: 'secret'}),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert f'{variable} is 6 characters: use at least 16' in r.stdout + r.stderr


def test_the_sign_in_page_is_the_products_and_takes_the_token_only(doors):
    """Without a token the operators' door showed Jupyter's stock login ("run `jupyter server list`") and its
    *Setup a Password* form answered 500 (#26 item 9): a plain page asks for the token, a wrong one is 401
    with the reason, the right one signs in and goes where the person was going; no password can be set."""
    import re
    from urllib.parse import quote, urlencode
    login = doors.operator_url + 'login?next=' + quote('/voila/render/monitor.ipynb')

    async def scenario():
        first = await _fetch(doors.operator_url + 'voila/render/monitor.ipynb')
        form = await _fetch(login)
        cookie = page_cookie(form)
        xsrf = re.search(rb'name="_xsrf" value="([^"]+)"', form.body).group(1).decode()
        post = lambda **f: _fetch(login, 'POST', {'Cookie': cookie, 'Content-Type': 'application/x-www-form-urlencoded'},
                                  urlencode(dict(_xsrf=xsrf, **f)))
        wrong, setup = await post(password='not-the-token-at-all'), await post(password='', new_password='mine12345678901234')
        right = await post(password=doors.operator_token, next='/voila/render/monitor.ipynb')
        opened = await _fetch(doors.operator_url + 'voila/render/monitor.ipynb', headers={'Cookie': page_cookie(right)})
        return first, form, wrong, setup, right, opened.code
    first, form, wrong, setup, right, opened = run_async(scenario())
    assert first.code == 302 and '/login' in first.headers['Location']
    page = form.body.decode()
    assert form.code == 200 and '<h1>Sign in</h1>' in page and 'name="password" type="password"' in page
    for stock in ('jupyter server list', 'Setup a Password', 'new_password'): assert stock not in page
    assert wrong.code == 401 and "That token is not this page's token" in wrong.body.decode()
    assert setup.code == 401, 'no password is set up, whatever the form sends'
    assert right.code == 302 and right.headers['Location'] == '/voila/render/monitor.ipynb' and opened == 200


def test_signing_out_ends_the_session_and_guessing_tokens_is_throttled(doors):
    """`/logout` answered 500 and the old cookie still opened the monitor; 50 wrong tokens took 0.1 s;
    `/voila/templates/` answered 500. (Last in this module: the throttle holds for a minute.)"""
    page = doors.operator_url + 'voila/render/monitor.ipynb'

    async def scenario():
        cookie = page_cookie(await _fetch(page + f'?token={doors.operator_token}'))
        before = (await _fetch(page, headers={'Cookie': cookie})).code
        out = await _fetch(doors.operator_url + 'logout', headers={'Cookie': cookie})
        after = await _fetch(page, headers={'Cookie': cookie})
        visitors = (await _fetch(doors.url + 'logout')).code
        templates = [(await _fetch(base + p)).code for base in (doors.url, doors.operator_url)
                     for p in ('voila/templates/', 'voila/templates/x', 'voila/templates/lab/static/')]
        guesses = [(await _fetch(page + f'?token=guess{i}')).code for i in range(12)]
        right = (await _fetch(page + f'?token={doors.operator_token}')).code
        return before, out, after, visitors, templates, guesses, right
    before, out, after, visitors, templates, guesses, right = run_async(scenario())
    assert before == 200 and out.code == 200 and b'You are signed out' in out.body
    assert after.code == 302 and '/login' in after.headers['Location'], 'the old cookie is refused'
    assert visitors == 200 and templates == [404] * 6
    first = guesses.index(429)
    assert 0 < first <= 10 and set(guesses[:first]) == {302} and set(guesses[first:]) == {429}
    assert right == 429, 'throttled for a while, whatever the token'
