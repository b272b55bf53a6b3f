"""The apps' web server: Voilà with its doors shut (what `make serve` runs, once per door).

`python -m predictors.appserver notebooks --AppServer.door=visitors` is Voilà 0.5 (same
options, same `voila.json`) with these changes:

- two doors: the *visitors'* door serves the prediction apps only (`visitor_apps`: the kinds' views), the
  *operators'* door the monitor and the setup check only (`OPERATOR_APPS`) and always asks for
  a token; any other notebook is 404, in pages, listings and kernel pools;
- sign-in: the token comes from `$FASTAI_APPS_TOKEN` (removed from the environment, so no kernel
  sees it; never logged; 16 characters at least); one in the address is swapped for a cookie by a
  redirect. Bound to any address but loopback, the server refuses to start without one
  (`sign_in_problem`). `/logout` ends the session, wrong tokens are throttled (`signin`);
- a kernel belongs to the visitor whose page started it (Jupyter's signed login cookie): its id
  alone opens no websocket, reads nothing and shuts nothing down;
- kernel websockets must speak the v1 protocol, and every incoming frame is checked before
  Jupyter parses it (a malformed frame could otherwise make the server loop on a length near 10^17);
- no traceback or stderr text reaches a page by any path (only widget messages pass out);
- `Host` must be an IP address, `localhost` or a name in `allowed_hosts` (DNS rebinding);
- the websocket message limit is the real one (tornado's read buffer is sized to it);
- behind a proxy (`behind_proxy`), X-Forwarded-Proto/-For are trusted, so cookies are `Secure`
  under TLS;
- request logs go through Jupyter's scrubber (no token, no cookie in a log);
- page templates are compiled once per process (`templates`), app kernels forked from a warm process (`forks`).
"""
from __future__ import annotations

import functools
import ipaddress
import os

from jupyter_server.log import log_request
from tornado import web
from jupyter_server.auth.identity import IdentityProvider
from traitlets import Bool, Enum, List, Type, Unicode
from voila.app import Voila

from predictors.core.helpers import host_name
from predictors.core.settings import TOKEN_ENV, Settings
from predictors.kinds import views
from predictors.web.handlers import REPLACE, HostRefused, loopback, v1_parts
from predictors.web.signin import DoorIdentity, weak_token
from predictors.web.templates import share_compiled_templates

__all__ = ['AppServer', 'visitor_apps', 'OPERATOR_APPS', 'sign_in_problem', 'v1_parts', 'main']

OPERATOR_APPS = ('monitor.ipynb', '00_verify_setup.ipynb')


def visitor_apps() -> tuple[str, ...]:
    "The prediction apps: one notebook per app the kinds name (`ModelKind.view`), in the order of the registry."
    return tuple(f'{v}.ipynb' for v in views())



def sign_in_problem(host: str, token: str | None) -> str | None:
    "Why serving on `host` with `token` is refused (bound beyond loopback with no token), or None."
    if token or loopback(host): return None
    return (f'refusing to serve on {host} without sign-in: anyone who can reach this machine could use the apps. '
            f'Set a token, e.g. `export {TOKEN_ENV}=$(python3 -c "import secrets; print(secrets.token_urlsafe(24))")`, '
            f'and give people the address with ?token=… once (it becomes a cookie), or serve on 127.0.0.1 behind '
            f'a proxy that signs people in (README: "Serve to a team").')


class _Application(web.Application):
    "Tornado's application with the Host check in front of every handler and a read buffer as large as the limit."

    def find_handler(self, request, **kwargs):
        host = host_name(request.host)
        allowed = self.settings.get('allowed_hosts') or ()
        try:
            ipaddress.ip_address(host); ok = True         # an address cannot be rebound to another machine
        except ValueError:
            ok = host == 'localhost' or host in allowed
        if not ok: return self.get_handler_delegate(request, HostRefused)
        return super().find_handler(request, **kwargs)

    def listen(self, port, address=None, **kwargs):
        limit = self.settings.get('websocket_max_message_size') or 10 * 2 ** 20
        kwargs.setdefault('max_buffer_size', limit + 2 ** 20)   # tornado's default (100 MiB) would cut messages short
        kwargs.setdefault('xheaders', bool(self.settings.get('behind_proxy')))
        return super().listen(port, address or '', **kwargs)


def _not_trust(record) -> bool:
    """Notebook trust is about showing a notebook's saved outputs; the doors serve the project's own notebooks,
    outputs stripped, so "Notebook … is not trusted" (logged at every render and kernel preheat) says nothing."""
    return record.msg != 'Notebook %s is not trusted'


class AppServer(Voila):
    "Voilà with two doors, sign-in and kernels bound to their visitors (see the module's docstring)."

    name = 'voila'                     # the same voila.json
    door = Enum(['visitors', 'operators'], 'visitors', config=True,
                help='visitors: the prediction apps; operators: the monitor and the setup check, always signed in.')
    allowed_hosts = List(Unicode(), config=True,
                         help='Host names this server answers for besides IP addresses and localhost.')
    behind_proxy = Bool(False, config=True,
                        help='Trust X-Forwarded-For/-Proto from a reverse proxy on this machine (cookies Secure under TLS).')
    identity_provider_class = Type(default_value=DoorIdentity, klass=IdentityProvider, config=True,
                                   help='Token sign-in; sign-out ends the session; wrong tokens throttled.')

    def initialize(self, argv=None):
        settings = Settings.from_env()
        os.environ.pop(TOKEN_ENV, None)          # the kernels started from here never see it
        super().initialize(argv)
        share_compiled_templates()               # each page's templates compiled once per process, not per page
        # traitlets leaves the logger at DEBUG and filters in its handler: every debug line (one per kernel message)
        # was formatted and dropped; now the logger drops what no handler shows
        self.log.setLevel(min((h.level for h in self.log.handlers), default=self.log_level))
        self.log.addFilter(_not_trust)
        self.models_root = settings.models          # the landing page names the models each app shows
        if settings.token: self.token = settings.token
        if settings.hosts: self.allowed_hosts = [h.lower() for h in settings.hosts]
        problem = sign_in_problem(self.ip, self.token) or weak_token(TOKEN_ENV, settings.token)
        if self.door == 'operators' and not self.token:
            problem = f'the operators\' door always needs a token: set {TOKEN_ENV}.'
        if problem:
            self.log.critical(problem); self.exit(2)
        hidden = [nb for nb in visitor_apps() + OPERATOR_APPS if nb not in self.notebooks()]   # substrings of paths
        self.config.VoilaKernelManager.preheat_denylist = hidden

    def notebooks(self) -> tuple[str, ...]:
        return visitor_apps() if self.door == 'visitors' else OPERATOR_APPS

    def init_settings(self):
        settings = super().init_settings()
        ip = self.identity_provider            # the sign-in cookie: not sent along from other sites' pages
        ip.cookie_options = {'samesite': 'Lax', **ip.cookie_options}
        settings.update(door_notebooks=self.notebooks(), allowed_hosts=[h.lower() for h in self.allowed_hosts],
                        models_root=self.models_root,
                        behind_proxy=self.behind_proxy,
                        log_function=functools.partial(log_request, record_prometheus_metrics=False))
        return settings

    def init_handlers(self):
        return [(pattern, REPLACE.get(cls, cls), *rest) for pattern, cls, *rest in super().init_handlers()]

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
    from predictors.web.appserver import main as _main  # the module's one copy (not __main__'s), as the kernel manager imports it
    _main()
