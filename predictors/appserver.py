"""The apps' web server: Voilà with its doors shut (what `make serve` runs, once per door).

`python -m predictors.appserver notebooks --AppServer.door=visitors` is Voilà 0.5 (same
options, same `voila.json`) with these changes:

- two doors: the *visitors'* door serves the prediction apps only (`VISITOR_APPS`), the
  *operators'* door the monitor and the setup check only (`OPERATOR_APPS`) and always asks for
  a token; any other notebook is 404, in pages, listings and kernel pools;
- sign-in: the token comes from `$FASTAI_APPS_TOKEN` (removed from the environment, so no kernel
  sees it; never logged); one in the address is swapped for a cookie by a redirect. Bound to any
  address but loopback, the server refuses to start without one (`sign_in_problem`);
- a kernel belongs to the visitor whose page started it (Jupyter's signed login cookie): its id
  alone opens no websocket, reads nothing and shuts nothing down;
- kernel websockets must speak the v1 protocol, and every incoming frame is checked before
  Jupyter parses it (a malformed frame could otherwise make the server loop on a length near 10^17);
- no traceback or stderr text reaches a page by any path (only widget messages pass out);
- `Host` must be an IP address, `localhost` or a name in `allowed_hosts` (DNS rebinding);
- the websocket message limit is the real one (tornado's read buffer is sized to it);
- behind a proxy (`behind_proxy`), X-Forwarded-Proto/-For are trusted, so cookies are `Secure`
  under TLS;
- request logs go through Jupyter's scrubber (no token, no cookie in a log).
"""
from __future__ import annotations

import contextvars
import functools
import html
import ipaddress
import json
import os
import re
import urllib.parse

from jupyter_server.log import log_request
from jupyter_server.services.kernels.handlers import KernelHandler
from tornado import web
from traitlets import Bool, Enum, List, Unicode
from voila.app import Voila
from voila.request_info_handler import RequestInfoSocketHandler
from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
from voila.tornado.contentshandler import VoilaContentsHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler

__all__ = ['AppServer', 'VISITOR_APPS', 'OPERATOR_APPS', 'V1_PROTOCOL', 'v1_parts', 'sign_in_problem',
           'TOKEN_ENV', 'PAGE', 'SESSION_WATCH', 'landing_page']

VISITOR_APPS = ('tabular_app.ipynb', 'image_app.ipynb')
OPERATOR_APPS = ('monitor.ipynb', '00_verify_setup.ipynb')
V1_PROTOCOL = 'v1.kernel.websocket.jupyter.org'
TOKEN_ENV = 'FASTAI_APPS_TOKEN'
_MAX_PARTS = 4096          # a widget message has 5 parts and a buffer per file

# the visitor whose page is being rendered (set by the page handler, read by the kernel manager)
PAGE: contextvars.ContextVar = contextvars.ContextVar('fastai_apps_page', default=None)


def _loopback(host: str) -> bool:
    if host in ('localhost', ''): return True
    try:
        return ipaddress.ip_address(host.strip('[]')).is_loopback
    except ValueError:
        return False


def sign_in_problem(host: str, token: str | None) -> str | None:
    "Why serving on `host` with `token` is refused (bound beyond loopback with no token), or None."
    if token or _loopback(host): return None
    return (f'refusing to serve on {host} without sign-in: anyone who can reach this machine could use the apps. '
            f'Set a token, e.g. `export {TOKEN_ENV}=$(python3 -c "import secrets; print(secrets.token_urlsafe(24))")`, '
            f'and give people the address with ?token=… once (it becomes a cookie), or serve on 127.0.0.1 behind '
            f'a proxy that signs people in (README: "Serve to a team").')


def _v1_offsets(frame) -> list[int] | None:
    """The part offsets of a v1 kernel websocket frame, or None when the frame is malformed (a count or
    offsets out of range or out of order). Reads the frame's head only: nothing is copied."""
    if not isinstance(frame, (bytes, bytearray, memoryview)) or len(frame) < 8: return None
    n = int.from_bytes(frame[:8], 'little')
    if not 6 <= n <= _MAX_PARTS or 8 * (n + 1) > len(frame): return None
    offsets = [int.from_bytes(frame[8 * (i + 1):8 * (i + 2)], 'little') for i in range(n)]
    if offsets[0] < 8 * (n + 1) or offsets[-1] > len(frame) or any(a > b for a, b in zip(offsets, offsets[1:])):
        return None
    return offsets


def v1_parts(frame) -> list[bytes] | None:
    """The parts of a v1 kernel websocket frame — channel, header, parent header, metadata, content,
    buffers… — or None when the frame is malformed."""
    offsets = _v1_offsets(frame)
    return None if offsets is None else [bytes(frame[a:b]) for a, b in zip(offsets, offsets[1:])]


def _json(part: bytes) -> dict:
    try:
        v = json.loads(part)
    except (ValueError, UnicodeDecodeError):
        return {}
    return v if isinstance(v, dict) else {}


def _passes_out(message) -> bool:
    "Whether a kernel message may go to the page: never an echo of code, an error or stderr text."
    if isinstance(message, (bytes, bytearray)):
        o = _v1_offsets(message)          # only the header and the content are read
        if o is None: return False
        header, content = _json(message[o[1]:o[2]]), (lambda: _json(message[o[4]:o[5]]))
    elif isinstance(message, dict):
        header, content = message.get('header') or {}, (lambda: message.get('content') or {})
    else:
        return True                         # text frames are status messages the server writes itself
    kind = header.get('msg_type')
    if kind in ('execute_input', 'error'): return False
    return not (kind == 'stream' and content().get('name') == 'stderr')


def _visitor(handler) -> str | None:
    user = getattr(handler, 'current_user', None)
    return getattr(user, 'username', None)


class _Owned:
    "Kernel endpoints: only the visitor whose page started the kernel may use it."

    def check_owner(self, kernel_id: str) -> None:
        if not self.kernel_manager.owned_by(kernel_id, _visitor(self)):
            raise web.HTTPError(403, 'this session belongs to another page')


class KernelSocket(_Owned, VoilaKernelWebsocketHandler):
    "The page's kernel websocket: v1 protocol, its owner only, incoming frames checked, outgoing filtered."

    def write_error(self, status_code, **kwargs):
        "A refusal in plain words (Jupyter's HTML error page has no template here)."
        exc = (kwargs.get('exc_info') or (None, None))[1]
        self.set_header('Content-Type', 'text/plain; charset=UTF-8')
        self.finish(getattr(exc, 'log_message', None) or self._reason)

    async def get(self, kernel_id):
        offered = [p.strip() for p in (self.request.headers.get('Sec-WebSocket-Protocol') or '').split(',')]
        if V1_PROTOCOL not in offered:
            raise web.HTTPError(400, f'kernel websockets here speak the {V1_PROTOCOL} protocol only')
        if self.current_user is None: raise web.HTTPError(403)
        self.check_owner(kernel_id)
        await super().get(kernel_id)

    async def open(self, kernel_id):
        self.kernel_manager.connected(kernel_id)
        await super().open(kernel_id)

    def on_message(self, message):
        if _v1_offsets(message) is None:
            self.log.warning('Closing a kernel websocket that sent a malformed frame')
            self.close(1003, 'malformed v1 frame'); return
        super().on_message(message)

    def write_message(self, message, binary=False):
        if not _passes_out(message): return None
        return super(VoilaKernelWebsocketHandler, self).write_message(message, binary)


class KernelModel(_Owned, KernelHandler):
    "GET/DELETE /api/kernels/<id>: the owner only."

    async def get(self, kernel_id):
        self.check_owner(kernel_id); await super().get(kernel_id)

    async def delete(self, kernel_id):
        self.check_owner(kernel_id); await super().delete(kernel_id)


class KernelShutdown(_Owned, VoilaShutdownKernelHandler):
    "POST /voila/api/shutdown/<id> (a page closing): the owner only."

    async def post(self, kernel_id):
        self.check_owner(kernel_id); await super().post(kernel_id)


class RequestInfoSocket(RequestInfoSocketHandler):
    """/voila/query/<id>: where a preheated kernel waits for its visitor's request. Only a local process
    may connect (the kernel itself), once per kernel, and only for a kernel this server runs."""

    async def get(self, kernel_id, *args, **kwargs):
        km = self.settings['kernel_manager']
        if not _loopback(self.request.remote_ip or '') or kernel_id not in km or kernel_id in self._waiters:
            raise web.HTTPError(403)
        await super().get(kernel_id, *args, **kwargs)


class _SignInPage:
    "A token in the address becomes a cookie (set by Jupyter's identity provider) and leaves the address."

    async def prepare(self, *args, **kwargs):
        await super().prepare(*args, **kwargs)
        if self.request.method == 'GET' and 'token' in self.request.query_arguments and self.current_user:
            query = [(k, v) for k, v in urllib.parse.parse_qsl(self.request.query, keep_blank_values=True)
                     if k != 'token']
            self.redirect(self.request.path + ('?' + urllib.parse.urlencode(query) if query else ''))


# Asks whether the page's kernel still exists: every 15 s and at once when the visitor comes back to
# the page or clicks or types after 2 s of quiet. A kernel that is gone (culled when idle, shut down)
# or a server that does not answer puts a dialog over the dead page with a Reload button. Also makes
# the apps' answers live regions (announced by screen readers), which ipywidgets cannot set itself.
SESSION_WATCH = """<style>
.app-expired {position: fixed; inset: 0; z-index: 10000; background: rgba(20,24,32,.45); display: flex;
              align-items: flex-start; justify-content: center; font-family: system-ui, sans-serif}
.app-expired-box {background: #fff; margin-top: 12vh; padding: 20px 24px; border-radius: 8px; max-width: 440px;
                  box-shadow: 0 8px 30px rgba(0,0,0,.3)}
.app-expired-box p {margin: 0 0 14px; font-size: 16px; line-height: 1.4; color: #1f2430}
.app-expired-box button {font-size: 15px; padding: 8px 18px; border-radius: 5px; border: 0; background: #1a56b8;
                         color: #fff; cursor: pointer}
</style>
<script>
(function () {
  var shown = false, last = 0;
  function config() {
    var el = document.getElementById('jupyter-config-data');
    try { return el ? JSON.parse(el.textContent) : null; } catch (e) { return null; }
  }
  function expired(text) {
    if (shown) return; shown = true;
    var d = document.createElement('div');
    d.className = 'app-expired'; d.setAttribute('role', 'alertdialog'); d.setAttribute('aria-modal', 'true');
    d.setAttribute('aria-labelledby', 'app-expired-text');
    d.innerHTML = '<div class="app-expired-box"><p id="app-expired-text"></p><button type="button">Reload</button></div>';
    d.querySelector('p').textContent = text;
    d.querySelector('button').onclick = function () { location.reload(); };
    document.body.appendChild(d); d.querySelector('button').focus();
  }
  function check() {
    var c = config();
    if (shown || !c || !c.kernelId) return;
    last = Date.now();
    fetch(c.baseUrl + 'api/kernels/' + c.kernelId, {credentials: 'same-origin', cache: 'no-store'}).then(function (r) {
      if (r.status === 404 || r.status === 403)
        expired('This session expired \u2014 reload the page to start a new one. What you typed is not kept.');
    }).catch(function () {
      expired('The connection to the server was lost \u2014 reload the page when it is back.');
    });
  }
  // answers are announced: the content of each `app-live` widget (the tabular answer, the scored
  // file's summary, the image summary) is a polite live region, set once it is on the page
  new MutationObserver(function () {
    document.querySelectorAll('.app-live > .widget-html-content:not([aria-live])').forEach(function (e) {
      e.setAttribute('role', 'status'); e.setAttribute('aria-live', 'polite');
    });
  }).observe(document.documentElement, {childList: true, subtree: true});
  setInterval(check, 15000);
  ['click', 'keydown', 'focus', 'visibilitychange'].forEach(function (ev) {
    window.addEventListener(ev, function () { if (Date.now() - last > 2000) check(); }, true);
  });
})();
</script>
"""
_CDN_LINK = re.compile(r'<link[^>]+href="https://cdn\.jsdelivr\.net/[^"]*"[^>]*>\s*')


class AppPage(_SignInPage, TornadoVoilaHandler):
    "A notebook page: this door's notebooks only; the kernel it starts is the visitor's."

    async def get(self, path=None):
        if path not in self.settings['door_notebooks']: raise web.HTTPError(404)
        self._fastai_page = {'visitor': _visitor(self), 'kernels': []}
        page = PAGE.set(self._fastai_page)
        try:
            await super().get(path)
        finally:
            PAGE.reset(page)

    def write(self, chunk):
        """Voilà's page without its CDN stylesheets (the icons come with Voilà's own bundle), in plain
        words, and with `SESSION_WATCH`: an ended session (a culled kernel, a lost server) says so."""
        if isinstance(chunk, str):
            chunk = _CDN_LINK.sub('', chunk).replace('`Executing ${cell_index} of ${cell_count}`',
                                                     '`Starting the app (step ${cell_index} of ${cell_count})…`')
            if not getattr(self, '_watching', False) and '</head>' in chunk:      # once, in the page's own head
                chunk, self._watching = chunk.replace('</head>', SESSION_WATCH + '</head>', 1), True
        return super().write(chunk)

    def _served(self):
        "The page is sent (or its visitor left): its kernels' websockets must connect soon."
        for kid in (getattr(self, '_fastai_page', None) or {}).get('kernels', []):
            self.kernel_manager.page_served(kid)

    def on_finish(self):
        self._served(); super().on_finish()

    def on_connection_close(self):
        self._served(); super().on_connection_close()


class AppTree(_SignInPage, TornadoVoilaTreeHandler):
    "The landing page: one card per app of this door (title, purpose, the models it serves), no CDN."

    async def get(self, path=''):
        if path: raise web.HTTPError(404)
        from jupyter_core.utils import ensure_async
        apps = []
        for nb in self.settings['door_notebooks']:
            try:
                model = await ensure_async(self.contents_manager.get(nb, content=True))
            except web.HTTPError:
                continue
            meta = model['content'].get('metadata', {})
            info = meta.get('fastai_apps', {})
            apps.append(dict(href=f'{self.base_url}voila/render/{nb}', title=meta.get('title') or nb,
                             purpose=info.get('purpose', ''), models=_served_models(info.get('task'))))
        self.set_header('Content-Type', 'text/html; charset=UTF-8')
        self.finish(landing_page(apps))


def _served_models(task: str | None) -> list[str]:
    "'name version' of the active models of `task` in the store (none for apps without a task)."
    if not task: return []
    try:
        from .store import ModelStore
        store = ModelStore()
        return [f'{n} {store.active_version(n)}' for n in store.names(task)]
    except Exception:  # noqa: BLE001 - the landing page is drawn without them
        return []


def landing_page(apps: list[dict]) -> str:
    "The landing page's HTML: a card per app (title, purpose, models), readable from 320 px up, no script."
    esc = html.escape
    cards = ''.join(
        f'<li class="app-card"><h2><a href="{esc(a["href"])}">{esc(a["title"])}</a></h2>'
        f'<p>{esc(a["purpose"])}</p>'
        + (f'<p class="app-models">Model{"s" if len(a["models"]) > 1 else ""}: '
           f'{esc(", ".join(a["models"]))}</p>' if a['models'] else '') + '</li>' for a in apps)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>fastai apps</title><link rel="icon" href="data:,">
<style>
body {{font-family: system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1f2430}}
main {{max-width: 960px; margin: 0 auto; padding: 24px 16px}}
h1 {{font-size: 1.6rem; margin: 8px 0 4px}}
.app-cards {{list-style: none; padding: 0; display: grid; gap: 16px;
             grid-template-columns: repeat(auto-fit, minmax(min(100%, 280px), 1fr))}}
.app-card {{background: #fff; border: 1px solid #d5d9e0; border-radius: 8px; padding: 16px}}
.app-card h2 {{font-size: 1.2rem; margin: 0 0 8px}}
.app-card a {{color: #1a56b8}}
.app-card p {{margin: 0 0 8px; line-height: 1.4}}
.app-models {{color: #4a5263; font-size: .9rem}}
</style></head>
<body><main><h1>fastai apps</h1><p>Choose an app.</p><ul class="app-cards">{cards}</ul></main></body></html>"""


class AppContents(VoilaContentsHandler):
    "The notebook listing: this door's notebooks only."

    def _finish_model(self, model, location=True):
        visible = self.settings['door_notebooks']
        if model.get('type') != 'directory' or model.get('path'): raise web.HTTPError(404)
        model['content'] = [c for c in model.get('content') or [] if c.get('type') == 'notebook'
                            and c.get('path') in visible]
        super()._finish_model(model, location)


_REPLACE = {TornadoVoilaHandler: AppPage, TornadoVoilaTreeHandler: AppTree, VoilaContentsHandler: AppContents,
            VoilaKernelWebsocketHandler: KernelSocket, KernelHandler: KernelModel,
            VoilaShutdownKernelHandler: KernelShutdown, RequestInfoSocketHandler: RequestInfoSocket}


class _HostRefused(web.RequestHandler):
    def prepare(self):
        self.set_status(403); self.finish('Unknown host name: this server answers for its configured names only.')


class _Application(web.Application):
    "Tornado's application with the Host check in front of every handler and a read buffer as large as the limit."

    def find_handler(self, request, **kwargs):
        host = re.sub(r':\d+$', '', request.host or '').strip('[]').lower()
        allowed = self.settings.get('allowed_hosts') or ()
        try:
            ipaddress.ip_address(host); ok = True         # an address cannot be rebound to another machine
        except ValueError:
            ok = host == 'localhost' or host in allowed
        if not ok: return self.get_handler_delegate(request, _HostRefused)
        return super().find_handler(request, **kwargs)

    def listen(self, port, address=None, **kwargs):
        limit = self.settings.get('websocket_max_message_size') or 10 * 2 ** 20
        kwargs.setdefault('max_buffer_size', limit + 2 ** 20)   # tornado's default (100 MiB) would cut messages short
        kwargs.setdefault('xheaders', bool(self.settings.get('behind_proxy')))
        return super().listen(port, address or '', **kwargs)


class AppServer(Voila):
    "Voilà with two doors, sign-in and kernels bound to their visitors (see the module's docstring)."

    name = 'voila'                     # the same voila.json
    door = Enum(['visitors', 'operators'], 'visitors', config=True,
                help='visitors: the prediction apps; operators: the monitor and the setup check, always signed in.')
    allowed_hosts = List(Unicode(), config=True,
                         help='Host names this server answers for besides IP addresses and localhost.')
    behind_proxy = Bool(False, config=True,
                        help='Trust X-Forwarded-For/-Proto from a reverse proxy on this machine (cookies Secure under TLS).')

    def initialize(self, argv=None):
        token = os.environ.pop(TOKEN_ENV, None)
        super().initialize(argv)
        if token: self.token = token
        hosts = os.environ.get('FASTAI_APPS_HOSTS')
        if hosts: self.allowed_hosts = [h.strip().lower() for h in hosts.split(',') if h.strip()]
        problem = sign_in_problem(self.ip, self.token)
        if self.door == 'operators' and not self.token:
            problem = f'the operators\' door always needs a token: set {TOKEN_ENV}.'
        if problem:
            self.log.critical(problem); self.exit(2)
        hidden = [nb for nb in VISITOR_APPS + OPERATOR_APPS if nb not in self.notebooks()]   # substrings of paths
        self.config.VoilaKernelManager.preheat_denylist = hidden

    def notebooks(self) -> tuple[str, ...]:
        return VISITOR_APPS if self.door == 'visitors' else OPERATOR_APPS

    def init_settings(self):
        settings = super().init_settings()
        ip = self.identity_provider            # the sign-in cookie: not sent along from other sites' pages
        ip.cookie_options = {'samesite': 'Lax', **ip.cookie_options}
        settings.update(door_notebooks=self.notebooks(), allowed_hosts=[h.lower() for h in self.allowed_hosts],
                        behind_proxy=self.behind_proxy,
                        log_function=functools.partial(log_request, record_prometheus_metrics=False))
        return settings

    def init_handlers(self):
        return [(pattern, _REPLACE.get(cls, cls), *rest) for pattern, cls, *rest in super().init_handlers()]

    def start(self):
        # Voilà's start, with the application class above
        import tempfile
        self.connection_dir = tempfile.mkdtemp(prefix='voila_', dir=self.connection_dir_root)
        settings = self.init_settings()
        self.app = _Application(**settings)
        self.app.settings.update(self.tornado_settings)
        self.app.add_handlers('.*$', self.init_handlers())
        self.listen()


main = AppServer.launch_instance

if __name__ == '__main__':
    from predictors.appserver import main as _main   # the module's one copy (not __main__'s), as the kernel manager imports it
    _main()
