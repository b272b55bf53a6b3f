"""Who may call the model server (#25): a program on this machine with its token, never a web page.

`Guard` is an ASGI middleware in front of every route:
- `Host` must be this machine's (127.0.0.1, localhost, ::1) or a name in `FASTAI_APPS_HOSTS`: a page on
  another site cannot reach the server through a name it controls (DNS rebinding);
- a request that carries an `Origin` of another site is refused: browsers add it to every cross-site
  request, and nothing but the server's own `/docs` page is a web page that should call it;
- with a token (`FASTAI_APPS_API_TOKEN`, for programs; `make serve` makes one for each run) every route but
  `/healthz` needs `Authorization: Bearer <token>`. The app kernels show the doors' own token instead
  (`FASTAI_APPS_KERNEL_TOKEN`, made by `make serve` and given to nothing else): only their answers are logged
  as the apps' (`X-Source: app…`); a program that says it is an app is logged as `api`
  (`scope['state']['caller']`: 'app', 'program', or 'anyone' where they cannot be told apart).
"""
from __future__ import annotations

import json
import secrets
from urllib.parse import urlsplit

from predictors.core.helpers import host_name

__all__ = ['Guard', 'LOCAL_HOSTS']

LOCAL_HOSTS = frozenset({'127.0.0.1', 'localhost', '::1'})
_OPEN = frozenset({'/healthz'})


class Guard:
    "The checks above, before any route runs; a refusal is JSON `{\"detail\": reason}` like every other."

    def __init__(self, app, token: str | None = None, hosts=(), kernel_token: str | None = None):
        self.app, self.token, self.kernel_token = app, token, kernel_token
        self.hosts = LOCAL_HOSTS | {h.lower() for h in hosts}

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http': return await self.app(scope, receive, send)
        headers = {k.decode('latin-1').lower(): v.decode('latin-1') for k, v in scope.get('headers', [])}
        caller = self._caller(headers)
        why = self._refusal(scope.get('path', ''), headers, caller)
        if why is None:
            scope.setdefault('state', {})['caller'] = caller
            return await self.app(scope, receive, send)
        status, reason = why
        body = json.dumps({'detail': reason}).encode()
        extra = [(b'www-authenticate', b'Bearer')] if status == 401 else []
        await send({'type': 'http.response.start', 'status': status, 'headers': [
            (b'content-type', b'application/json'), (b'content-length', str(len(body)).encode()), *extra]})
        await send({'type': 'http.response.body', 'body': body})

    def _refusal(self, path: str, headers: dict, caller: str | None):
        "(status, reason) of a request that is refused, or None."
        host = headers.get('host', '')
        if host_name(host) not in self.hosts:
            return 421, (f'this server does not answer for the host name {host!r}: call it at 127.0.0.1 (or a name '
                         f'in FASTAI_APPS_HOSTS).')
        origin = headers.get('origin')
        if origin and urlsplit(origin).netloc.lower() != host.lower():
            return 403, 'the model server does not answer web pages of other sites (this request came from one).'
        if caller is None and path not in _OPEN:
            return 401, ('send the model server\'s token: `Authorization: Bearer $FASTAI_APPS_API_TOKEN` '
                         '(`make serve` prints where it is).')
        return None

    def _caller(self, headers: dict) -> str | None:
        """'app' (the doors' token), 'program' (the programs' token, where the doors have their own), 'anyone' (the
        callers cannot be told apart: no token, or the doors' is not set), None (a wrong token)."""
        if not (self.token or self.kernel_token): return 'anyone'
        given = headers.get('authorization', '')
        given = given[7:].strip() if given.startswith('Bearer ') else ''
        if given and self.kernel_token and secrets.compare_digest(given, self.kernel_token): return 'app'
        if given and self.token and secrets.compare_digest(given, self.token):
            return 'program' if self.kernel_token else 'anyone'
        return None
