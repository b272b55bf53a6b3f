"`make serve` itself: the README's command serves the landing page and the apps, and nothing else (see also test_security)."
import json
import time

import pytest

from helpers import run_async, run_cli
from harness.voila_server import VoilaServer, free_port
from harness.widget_client import connect_kernel, get, msg, open_app, open_page, read_frame, v1_frame


@pytest.fixture(scope='module')
def make_serve(tmp_path_factory):
    "`make serve` on free ports for this module's tests; if it ends while they run, its output says why (at teardown)."
    with VoilaServer(make=True, log=tmp_path_factory.mktemp('make_serve') / 'serve.log') as srv:
        yield srv.url
        ended = srv.proc.poll()
        if ended is not None: raise RuntimeError(f'make serve ended (exit status {ended}):\n' + srv.log_text()[-6000:])


def test_landing_page_lists_the_apps(make_serve):
    "The landing page: a card per visitors' app (the browser tests look closer); the listing holds those apps only."
    import json
    status, html = get(make_serve)
    assert status == 200 and html.count('class="app-card"') == 5 and 'cdn.' not in html
    assert 'href="/voila/render/tabular_app.ipynb"' in html and 'href="/voila/render/image_app.ipynb"' in html
    assert 'href="/voila/render/text_app.ipynb"' in html and 'href="/voila/render/recommender_app.ipynb"' in html
    assert 'href="/voila/render/writer_app.ipynb"' in html
    status, listing = get(make_serve + 'voila/api/contents')
    names = sorted(c['name'] for c in json.loads(listing)['content'])
    assert names == ['image_app.ipynb', 'recommender_app.ipynb', 'tabular_app.ipynb', 'text_app.ipynb', 'writer_app.ipynb']


def test_health_check_for_a_supervisor(make_serve, store_copy, tmp_path):
    "Server up, store readable, each model loads and answers, log readable: exit 0; any failure: exit 1."
    env_log = tmp_path / 'log.db'
    r = run_cli('health', '--url', make_serve, '--json', models=store_copy.root, log=env_log, check=0)
    rep = json.loads(r.stdout)
    names = [c['check'] for c in rep['checks']]
    assert rep['ok'] and names[0] == f'server {make_serve} answers' and rep['checks'][0]['detail'] == 'lists 5 app(s)'
    assert 'model adult_income v1 (active): loads and answers' in names
    assert 'model fruits v1 (active): loads and answers' in names and names[-1] == 'prediction log readable'
    # a tampered model file and a server that is down: both reported, exit 1
    with open(store_copy.path('fruits') / 'model.pkl', 'r+b') as f:
        f.seek(1000); f.write(b'\x00')
    r = run_cli('health', '--url', f'http://127.0.0.1:{free_port()}/', models=store_copy.root, log=env_log, check=1)
    fails = [l for l in r.stdout.splitlines() if l.startswith('FAIL')]
    assert len(fails) == 2 and 'answers: URLError' in fails[0] and 'fruits v1 (active): file and checksum' in fails[1]
    assert 'remedy: start it with `make serve`' in r.stdout


def test_app_page_hides_sources(make_serve):
    status, html = get(make_serve + 'voila/render/tabular_app.ipynb')
    assert status == 200
    assert 'wait_for_request' not in html and 'preload(' not in html


@pytest.mark.parametrize('path', ['voila/files/models/adult_income/v1/model.pkl',
                                  'voila/files/../README.md', 'voila/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd',
                                  'voila/render/../Makefile', 'api/kernels', 'tree', 'lab'])
def test_nothing_else_is_served(make_serve, path):
    status, body = get(make_serve + path)
    assert status in (403, 404, 405), (status, body[:200])


def test_a_page_cannot_run_code_in_its_kernel(make_serve, tmp_path):
    "Voilà passes only widget messages to the kernel: an execute_request is dropped (checked with a control)."
    import asyncio
    marker = tmp_path / 'pwned'

    async def talk():
        ws_url, cookie = await open_page(make_serve)
        ws = await connect_kernel(ws_url, cookie)
        info = msg('kernel_info_request', {})
        await ws.write_message(v1_frame(info), binary=True)
        execute = msg('execute_request', dict(code=f'open({str(marker)!r}, "w").write("x")', silent=False,
                                               store_history=False, user_expressions={}, allow_stdin=False))
        await ws.write_message(v1_frame(execute), binary=True)
        replies = []
        try:
            while True:
                m = await asyncio.wait_for(ws.read_message(), 8)
                if m is None: break
                if read_frame(m): replies.append(read_frame(m))
        except asyncio.TimeoutError:
            pass
        ws.close()
        return info, execute, replies

    info, execute, replies = run_async(talk())
    answered = {}
    for r in replies: answered.setdefault(r.get('parent_header', {}).get('msg_id'), set()).add(r['msg_type'])
    assert 'kernel_info_reply' in answered.get(info['header']['msg_id'], ()), 'control: the channel works'
    assert execute['header']['msg_id'] not in answered, 'the kernel must not see an execute_request'
    assert not marker.exists()


def test_forged_widget_messages_are_validated_by_the_server(make_serve):
    "A client can set any widget value over comm_msg; the callbacks re-validate and the app keeps working."
    async def scenario():
        k = await open_app(make_serve)
        gain, button, result, workclass = (k.find(c) for c in ('app-input-capital-gain', 'app-predict',
                                                               'app-result', 'app-input-workclass'))
        out = {}
        await k.update(gain, value=str(10 ** 300))      # number fields hold text, read by the kernel
        out['huge'] = await k.click_and_read(button, result)
        await k.update(workclass, index=999)
        await k.update(gain, value="0")
        out['after'] = await k.click_and_read(button, result)
        k.close()
        return out

    out = run_async(scenario())
    assert out['huge'] and 'Capital gain ($) (capital-gain) 1e+300 is too far outside the training data' in out['huge']
    assert 'No prediction' in out['huge'] and 'nan%' not in out['huge']
    assert out['after'] and 'Predicted salary:' in out['after'], 'the app keeps working after an off-list index'


def test_a_forged_upload_name_and_size_are_not_trusted(make_serve):
    "A FileUpload value set over comm_msg with a path for a name and an absurd size: only the bytes count."
    from helpers import ADULT_CSV
    csv = ''.join(open(ADULT_CSV).readlines()[:4]).encode()

    async def scenario():
        k = await open_app(make_serve)
        upload, batch = k.find('app-upload'), k.find('app-batch')
        await k.update_with_buffers(upload, {'value': [dict(name='../../etc/passwd', type='text/csv', size=10 ** 12,
                                                            last_modified=0)]},
                                    [['value', 0, 'content']], [csv])
        text = await k.read_value(batch, 60)
        k.close()
        return text

    text = run_async(scenario())
    assert text and '3 of 3 rows scored' in text and 'download="passwd_scored.csv"' in text
    assert '../' not in text and 'root:' not in text


@pytest.fixture
def capped_server(tmp_path):
    "The tabular app alone, preheated (a pool of 1), at most 2 kernels, idle kernels culled after a few seconds."
    args = ['notebooks/tabular_app.ipynb', '--CappedKernelManager.max_kernels=2',
            '--VoilaKernelManager.kernel_pools_config={"default": {"pool_size": 1}}',
            '--MappingKernelManager.cull_idle_timeout=6', '--MappingKernelManager.cull_interval=2']
    with VoilaServer(args, env=dict(FASTAI_APPS_LOG=tmp_path / 'log.db'), log=tmp_path / 'voila.log') as srv:
        yield srv


def _wait(cond, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if cond(): return
        time.sleep(0.5)
    raise AssertionError(f'timed out waiting for {what}')


def test_kernels_are_capped_and_idle_ones_culled(capped_server):
    """A page beyond the cap gets a plain 503 at once (not a hang, not a new kernel); idle kernels
    are culled, memory goes back, and the next visitor is served."""
    srv, url, log = capped_server, capped_server.url, capped_server.log
    kernels = lambda: srv.usage()[1]
    filled = lambda: log.read_text().count('Kernel pool of tabular_app.ipynb is filled')
    _wait(lambda: filled() == 1, 120, 'the preheated kernel')
    time.sleep(3); base = srv.usage()[0]
    a, _ = get(url)                       # takes the preheated kernel; the pool refills (2 kernels)
    b, _ = get(url)                       # takes the refilled one; the refill now waits for room
    assert (a, b) == (200, 200)
    t = time.time()
    c, body = get(url)
    assert c == 503 and '503: The server is busy: every app session is taken (2 running)' in body
    assert time.time() - t < 20
    assert kernels() == 2 and 'Kernel cap reached' in log.read_text()
    peak = srv.usage()[0]
    # nobody talks to the two kernels: culled after 6 s idle; the waiting refill starts; memory goes back
    _wait(lambda: filled() == 3 and kernels() == 1, 180, 'culling and the pool refill')
    time.sleep(3); after = srv.usage()[0]
    assert peak > base + 300, (base, peak)
    assert after < base + 250, f'memory after culling {after:.0f} MB vs {base:.0f} MB before the visitors'
    d, body = get(url)
    assert d == 200 and 'kernelId' in body


def test_restarting_make_serve_loses_no_acknowledged_prediction(tmp_path):
    """A visitor predicts non-stop while `make serve` is killed (SIGKILL), restarted, and stopped
    (SIGTERM); every prediction whose answer reached the visitor is in the log afterwards."""
    import asyncio
    import signal
    import threading
    from predictors.monitoring.log import PredictionLog
    from harness.voila_server import free_port
    log_db, port, acked, ids = tmp_path / 'log.db', free_port(), [], iter(range(100_000, 200_000))

    def visitor(url, stop):
        async def go():
            c = await open_app(url)
            fnlwgt, button, result = (c.find(x) for x in ('app-input-fnlwgt', 'app-predict', 'app-result'))
            while not stop.is_set():
                i = next(ids)
                try:
                    await c.update(fnlwgt, value=str(i))
                    text = await c.click_and_read(button, result, timeout=10)
                except Exception:  # noqa: BLE001 - the server went away mid-prediction
                    return
                if not text: return
                assert 'Predicted salary' in text
                acked.append(i)
        asyncio.run(go())

    for sig in (signal.SIGKILL, signal.SIGTERM):
        srv = VoilaServer(make=True, port=port, env=dict(FASTAI_APPS_LOG=log_db), log=tmp_path / 'voila.log')
        said_before = len(srv.log_text())
        srv.start()
        stop, before = threading.Event(), len(acked)
        th = threading.Thread(target=visitor, args=(srv.url, stop)); th.start()
        _wait(lambda: len(acked) >= before + 20, 300, 'predictions')
        srv.stop(sig)                         # while the visitor is still predicting
        stop.set(); th.join(60)
        assert len(acked) >= before + 20
    # stopped as a supervisor (or Ctrl-C) stops it, while in use: quietly (a ZMQError traceback per kernel, and
    # "not trusted" and "TCP without encryption" warnings from every kernel before, #26 item 14)
    said = srv.log_text()[said_before:]
    for noise in ('Traceback', 'is not trusted', 'without encryption'): assert noise not in said, said[-3000:]
    logged = set(PredictionLog(log_db).read()['inputs'].map(lambda d: d.get('fnlwgt')))
    lost = [i for i in acked if i not in logged]
    assert not lost, f'{len(lost)} of {len(acked)} acknowledged predictions are not in the log: {lost[:5]}'


def test_every_process_serve_starts_reads_the_store_and_log_it_was_given(tmp_path, monkeypatch):
    """With two checkouts on one machine the monitor read another checkout's log (#26 item 7): the model
    server, both doors and their kernels get the absolute store and log paths `serve` resolved (a relative
    FASTAI_APPS_LOG names a file where the command ran, not where the children run), and the doors start
    kernels with their own Python, never a `python3` kernel installed for the user."""
    import signal
    from predictors.ops import supervise
    from predictors.web.kernels import ThisPython
    started = []

    class Recorded:
        def __init__(self, cmd, cwd, env, preexec_fn): started.append((cmd, env))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('FASTAI_APPS_LOG', 'here.db')
    monkeypatch.setenv('FASTAI_APPS_MODELS', 'my_models')
    monkeypatch.setattr(supervise.subprocess, 'Popen', Recorded)
    monkeypatch.setattr(supervise, '_supervise', lambda *a: 0)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert supervise.serve(port=free_port(), api_port=free_port(), operator_port=free_port()) == 0
    finally:
        for s, h in handlers.items(): signal.signal(s, h)
    assert len(started) == 3
    for cmd, env in started:
        assert env['FASTAI_APPS_LOG'] == str(tmp_path / 'here.db') and env['FASTAI_APPS_MODELS'] == str(tmp_path / 'my_models'), cmd
    spec = ThisPython().get_kernel_spec('python3')
    import sys
    assert spec.argv[0] == sys.executable and list(ThisPython().find_kernel_specs()) == ['python3']
    assert json.load(open(supervise.ROOT / 'voila.json'))['VoilaConfiguration']['kernel_spec_manager_class'] == \
        'predictors.web.kernels.ThisPython'
