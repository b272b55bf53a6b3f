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
