"A real Voila server on a free local port, serving a copy of the demo store, and headless Chromium."
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers import ROOT  # noqa: E402

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                 '--disable-sync']


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


class Server:
    def __init__(self, url, models, proc, log):
        self.url, self.models, self.proc, self.log = url, models, proc, log

    def app(self, nb): return f'{self.url}voila/render/{nb}'

    def log_text(self): return Path(self.log).read_text(errors='replace')


@pytest.fixture(scope='session')
def served(tmp_path_factory):
    from predictors import ModelStore
    d = tmp_path_factory.mktemp('served')
    shutil.copytree(ROOT / 'models', d / 'models')
    port = free_port()
    env = dict(os.environ, FASTAI_APPS_MODELS=str(d / 'models'), FASTAI_APPS_LOG=str(d / 'predictions.db'))
    log = d / 'voila.log'
    voila = Path(sys.executable).parent / 'voila'
    with open(log, 'w') as f:
        proc = subprocess.Popen([str(voila), 'notebooks', f'--port={port}', '--Voila.ip=127.0.0.1'], cwd=ROOT,
                                env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    url = f'http://127.0.0.1:{port}/'
    deadline = time.time() + 180
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200: break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError('voila did not start:\n' + log.read_text()[-3000:])
        time.sleep(0.5)
    srv = Server(url, ModelStore(d / 'models'), proc, log)
    srv.log_db = d / 'predictions.db'
    yield srv
    os.killpg(proc.pid, signal.SIGTERM)
    try: proc.wait(20)
    except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope='session')
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={'width': 1280, 'height': 900}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(90_000)
    yield pg
    ctx.close()
