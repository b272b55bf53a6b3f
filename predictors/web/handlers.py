"""The doors' request handlers: Voilà's, with kernels owned by the visitor whose page started them, kernel
websockets checked frame by frame (v1 protocol only, nothing but widget messages out), sign-in tokens taken
out of the address, and the door's notebooks only in pages and listings."""
from __future__ import annotations

import contextvars
import ipaddress
import json
import urllib.parse

from jupyter_server.services.kernels.handlers import KernelHandler
from tornado import web
from voila.request_info_handler import RequestInfoSocketHandler
from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
from voila.static_file_handler import TemplateStaticFileHandler
from voila.tornado.contentshandler import VoilaContentsHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler

from predictors.kinds import views
from predictors.web.pages import SESSION_WATCH, landing_page, page_html
from predictors.core.store import ModelStore
from predictors.service.rows import model_rows

__all__ = ['PAGE', 'V1_PROTOCOL', 'v1_parts', 'loopback', 'REPLACE', 'HostRefused']

V1_PROTOCOL = 'v1.kernel.websocket.jupyter.org'
_MAX_PARTS = 4096          # a widget message has 5 parts and a buffer per file

# the visitor whose page is being rendered (set by the page handler, read by the kernel manager)
PAGE: contextvars.ContextVar = contextvars.ContextVar('fastai_apps_page', default=None)


def loopback(host: str) -> bool:
    "Whether `host` is this machine only (an empty host is every address, not loopback)."
    if host == 'localhost': return True
    try:
        return ipaddress.ip_address(host.strip('[]')).is_loopback
    except ValueError:
        return False


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
        if kernel_id not in self.kernel_manager: raise web.HTTPError(404, 'this session has ended')
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
        if not loopback(self.request.remote_ip or '') or kernel_id not in km or kernel_id in self._waiters:
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


class AppPage(_SignInPage, TornadoVoilaHandler):
    "A notebook page: this door's notebooks only; the kernel it starts is the visitor's."

    async def get(self, path=None):
        if path not in self.settings['door_notebooks']: raise web.HTTPError(404)
        self._fastai_page = {'visitor': _visitor(self), 'kernels': [], 'address': self.request.remote_ip or ''}
        with self.kernel_manager.page_for(self._fastai_page):
            page = PAGE.set(self._fastai_page)
            try:
                await super().get(path)
            finally:
                PAGE.reset(page)

    def write(self, chunk):
        """Voilà's page without its CDN stylesheets (the icons come with Voilà's own bundle), in plain
        words, and with `SESSION_WATCH`: an ended session (a culled kernel, a lost server) says so."""
        if isinstance(chunk, str):
            chunk = page_html(chunk)
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
                             purpose=info.get('purpose', ''),
                             models=_served_models(self.settings['models_root'], nb.removesuffix('.ipynb'))))
        self.set_header('Content-Type', 'text/html; charset=UTF-8')
        self.finish(landing_page(apps))


def _served_models(root, app: str) -> list[str]:
    "'name version' of the active models in the store at `root` that the app `app` shows (none for other apps)."
    if app not in views(): return []
    try:
        return [f'{m["name"]} {m["active"]}' for m in model_rows(ModelStore(root), app)]
    except Exception:  # noqa: BLE001 - the landing page is drawn without them
        return []


class AppContents(VoilaContentsHandler):
    "The notebook listing: this door's notebooks only."

    def _finish_model(self, model, location=True):
        visible = self.settings['door_notebooks']
        if model.get('type') != 'directory' or model.get('path'): raise web.HTTPError(404)
        model['content'] = [c for c in model.get('content') or [] if c.get('type') == 'notebook'
                            and c.get('path') in visible]
        super()._finish_model(model, location)


class TemplateStatic(TemplateStaticFileHandler):
    "/voila/templates/<template>/static/<file>: any other path is 404 (Voilà answered 500)."

    def parse_url_path(self, path):
        parts = path.split('/', 2)
        if len(parts) != 3 or parts[1] != 'static' or not parts[2] or not parts[0]: raise web.HTTPError(404)
        return super().parse_url_path(path)


REPLACE = {TornadoVoilaHandler: AppPage, TornadoVoilaTreeHandler: AppTree, VoilaContentsHandler: AppContents,
            VoilaKernelWebsocketHandler: KernelSocket, KernelHandler: KernelModel,
            VoilaShutdownKernelHandler: KernelShutdown, RequestInfoSocketHandler: RequestInfoSocket,
            TemplateStaticFileHandler: TemplateStatic}


class HostRefused(web.RequestHandler):
    def prepare(self):
        self.set_status(403); self.finish('Unknown host name: this server answers for its configured names only.')


