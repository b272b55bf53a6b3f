"""A real deployment's shape: Debian's nginx with TLS (a self-signed certificate made here) in front of two
visitors' Voila processes, configured by the file a person copies (deploy/nginx-fastai-apps.conf)."""
import io
import os
import re
import socket
import subprocess
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

from helpers import ROOT
from harness.voila_server import VoilaServer, free_port

pytestmark = pytest.mark.browser
NGINX = '/usr/sbin/nginx'


def _site_conf(https_port, http_port, ports, cert, key) -> str:
    "deploy/nginx-fastai-apps.conf with this test's ports, name and certificate (and nothing else changed)."
    conf = (ROOT / 'deploy' / 'nginx-fastai-apps.conf').read_text()
    for old, new in [('listen 443 ssl;', f'listen 127.0.0.1:{https_port} ssl;'), ('listen 80;', f'listen 127.0.0.1:{http_port};'),
                     ('server 127.0.0.1:8866;', f'server 127.0.0.1:{ports[0]};'),
                     ('server 127.0.0.1:8868;', f'server 127.0.0.1:{ports[1]};'),
                     ('server_name apps.example.org;', 'server_name localhost;'),
                     ('/etc/ssl/certs/apps.example.org.pem', str(cert)),
                     ('/etc/ssl/private/apps.example.org.key', str(key))]:
        assert old in conf, old
        conf = conf.replace(old, new)
    return conf


@pytest.fixture(scope='module')
def proxied(tmp_path_factory):
    "(the served apps, https address of nginx in front of them)"
    d = tmp_path_factory.mktemp('proxy')
    cert, key = d / 'cert.pem', d / 'key.pem'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
                    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], check=True, capture_output=True)
    https_port, http_port, second = free_port(), free_port(), free_port()
    with VoilaServer(['notebooks', '--AppServer.behind_proxy=True'], serve=True, more_ports=[second],
                     env=dict(FASTAI_APPS_LOG=d / 'log.db'), log=d / 'serve.log') as srv:
        srv.wait_for_pools(6)               # 2 notebooks in each visitors' process, 2 in the operators'
        srv.ports = (srv.port, second)
        (d / 'site.conf').write_text(_site_conf(https_port, http_port, srv.ports, cert, key))
        for sub in ('body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'): (d / sub).mkdir()
        (d / 'nginx.conf').write_text(
            ('user root;\n' if os.geteuid() == 0 else '') +
            f'worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 512; }}\n'
            f'http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n'
            f'  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n'
            f'  include {d}/site.conf;\n}}\n')
        nginx = subprocess.Popen([NGINX, '-p', str(d), '-c', str(d / 'nginx.conf'), '-g', 'daemon off;'],
                                 stdout=subprocess.DEVNULL, stderr=open(d / 'nginx.out', 'w'), start_new_session=True)
        try:
            end = time.time() + 30
            while True:
                try:
                    socket.create_connection(('127.0.0.1', https_port), timeout=2).close(); break
                except OSError:
                    if nginx.poll() is not None or time.time() > end:
                        raise RuntimeError('nginx did not start: ' + (d / 'nginx.out').read_text()) from None
                    time.sleep(0.3)
            srv.http_port = http_port
            yield srv, f'https://localhost:{https_port}/'
        finally:
            nginx.terminate(); nginx.wait(20)


@pytest.fixture
def visitor(browser):
    "A new visitor: a browser context of its own (no cookies), trusting the test's certificate."
    contexts = []

    def new():
        ctx = browser.new_context(ignore_https_errors=True, viewport={'width': 1280, 'height': 900})
        ctx.route('**/*', lambda r: r.continue_() if re.match(r'(https|wss)://localhost:\d+/|data:|blob:', r.request.url)
                  else r.abort())
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(120_000)
        return page
    yield new
    for c in contexts: c.close()


def _noise_png(seed, side=1300) -> bytes:
    "A ~5 MB PNG (noise does not compress)."
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)).save(buf, 'PNG')
    return buf.getvalue()


def _predict(page):
    page.wait_for_selector('.app-predict', state='visible')
    page.click('.app-predict')
    page.wait_for_selector('.app-result .app-sentence')
    return page.inner_text('.app-result .app-sentence')


def test_both_apps_through_nginx_over_https(proxied, visitor):
    "Landing page, a prediction, 20 MB of images in one upload, an oversized image refused with its reason."
    srv, url = proxied
    page = visitor()
    page.goto(url)
    page.wait_for_selector('text=Predict from a table')          # the landing page's card
    page.goto(url + 'voila/render/tabular_app.ipynb')
    assert 'Predicted salary' in _predict(page)
    cookies = {c['name']: c for c in page.context.cookies()}
    login = next(c for n, c in cookies.items() if n.startswith('username-'))
    assert login['secure'] and login['httpOnly'], 'behind TLS the sign-in cookie is Secure'
    assert cookies['fastai_route']['secure']
    page.goto(url + 'voila/render/image_app.ipynb')
    page.wait_for_selector('.app-upload', state='visible')
    files = [dict(name=f'photo{i}.png', mimeType='image/png', buffer=_noise_png(i)) for i in range(4)]
    assert sum(len(f['buffer']) for f in files) > 20 * 10 ** 6
    with page.expect_file_chooser() as fc:
        page.click('.app-upload')
    fc.value.set_files(files + [dict(name='huge.png', mimeType='image/png', buffer=b'\0' * (12 * 2 ** 20))])
    page.wait_for_selector('.app-summary-text')
    assert page.inner_text('.app-summary-text') == '5 image(s): 4 classified, 1 rejected.'
    err = page.inner_text('.app-card-error')
    assert 'huge.png' in err and 'over the limit of 10.0 MB per file' in err
    # plain http is sent to https
    r = urllib.request.Request(f'http://127.0.0.1:{srv.http_port}/voila/render/tabular_app.ipynb',
                               headers={'Host': 'localhost'}, method='HEAD')

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k): return None
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.build_opener(NoRedirect).open(r, timeout=10)
    assert e.value.code == 301 and e.value.headers['Location'].startswith('https://localhost/')


def test_visitors_are_shared_among_the_voila_processes(proxied, visitor):
    "Each new visitor is routed to one process and stays there (page and websocket); both processes serve some."
    srv, url = proxied
    served_by = []
    for _ in range(10):
        page = visitor()
        page.goto(url + 'voila/render/tabular_app.ipynb')
        assert 'Predicted salary' in _predict(page)        # its kernel websocket reached the process of its page
        kid = re.search(r'"kernelId": "([0-9a-f-]+)"', page.content()).group(1)
        door = next(' '.join(a.cmdline()) for a in srv.kernels()[kid].parents() if '--port=' in ' '.join(a.cmdline()))
        served_by.append(next(p for p in srv.ports if f'--port={p}' in door))     # (its parent: that door's fork server)
        page.reload()                                    # the same visitor again: the same process
        assert 'Predicted salary' in _predict(page)
        if len(set(served_by)) == 2 and len(served_by) >= 4: break
    assert set(served_by) == set(srv.ports), served_by
