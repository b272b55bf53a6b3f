"A real Voila server on a free local port, serving a copy of the demo store, and headless Chromium."
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers import ROOT  # noqa: E402
from harness.voila_server import VoilaServer  # noqa: E402

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                 '--disable-sync']


@pytest.fixture(scope='session')
def served(tmp_path_factory):
    """The apps as `make serve` serves them (the model server and Voila with voila.json, thin app
    kernels) on a copy of the demo store and an empty prediction log."""
    from predictors import ModelStore
    d = tmp_path_factory.mktemp('served')
    shutil.copytree(ROOT / 'models', d / 'models')
    # every page of the suite comes from 127.0.0.1, and a closed page's kernel lives until it is culled: the suite's
    # ~60 pages would pass the cap of 40 kernels per address meant for one visitor (a later page: HTTP 503)
    args = ('notebooks', '--CappedKernelManager.max_kernels_per_address=120')
    with VoilaServer(args, serve=True, env=dict(FASTAI_APPS_MODELS=d / 'models', FASTAI_APPS_LOG=d / 'predictions.db'),
                     log=d / 'voila.log') as srv:
        srv.models, srv.log_db = ModelStore(d / 'models'), d / 'predictions.db'
        srv.wait_for_pools(7)       # the tests start on a calm machine, not beside 7 pools of kernels starting
        yield srv


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
    # the page asks a CDN for Font Awesome: refuse anything off this machine at once (no waiting on
    # the network; icons still render from the bundled font)
    ctx.route('**/*', lambda route: route.continue_() if route.request.url.startswith(('http://127.0.0.1', 'ws://127.0.0.1', 'data:', 'blob:'))
              else route.abort())
    pg = ctx.new_page()
    pg.set_default_timeout(90_000)
    yield pg
    ctx.close()
