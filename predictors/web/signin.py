"""Signing in and out of a door: Jupyter's token sign-in with sign-out that ends the session, throttled wrong
tokens, and a token strength rule.

- `/logout` (GET or POST) clears the sign-in cookie and ends it on the server too: a copy of the old cookie
  is refused afterwards (Jupyter only asked the browser to forget it, and its page was a 500);
- after `MAX_FAILURES` wrong tokens from one address within `FAILURE_WINDOW` seconds, its sign-ins are
  answered 429 until the window has passed (50 guesses took 0.1 s);
- `weak_token` refuses a token shorter than `MIN_TOKEN` characters, at start.
"""
from __future__ import annotations

import collections
import time

from jupyter_server.auth.identity import PasswordIdentityProvider
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.auth.decorator import allow_unauthenticated
from tornado import web
from traitlets import Type

__all__ = ['DoorIdentity', 'SignOut', 'weak_token', 'MIN_TOKEN', 'MAX_FAILURES', 'FAILURE_WINDOW']

MIN_TOKEN = 16           # characters: secrets.token_urlsafe(24) makes 32
MAX_FAILURES, FAILURE_WINDOW = 10, 60.0
_ENDED_KEPT = 100_000    # signed-out sessions remembered (the oldest are forgotten first)


def weak_token(variable: str, token: str | None) -> str | None:
    "Why `token` (from `$variable`) is too weak to serve with, or None."
    if token is None or len(token) >= MIN_TOKEN: return None
    return (f'{variable} is {len(token)} characters: use at least {MIN_TOKEN}, e.g. '
            f'`export {variable}=$(python3 -c "import secrets; print(secrets.token_urlsafe(24))")`.')


class SignOut(JupyterHandler):
    "/logout: the sign-in ends (this cookie is refused from now on) and the browser forgets it; a plain page."

    @allow_unauthenticated
    def get(self): self._sign_out()

    @allow_unauthenticated
    def post(self): self._sign_out()

    def check_xsrf_cookie(self):
        "Signing out needs no form token: anyone may end a session they hold."

    def _sign_out(self):
        user = self.current_user
        if user is not None and hasattr(self.identity_provider, 'end'): self.identity_provider.end(user.username)
        self.identity_provider.clear_login_cookie(self)
        self.set_header('Content-Type', 'text/html; charset=UTF-8')
        self.set_header('Cache-Control', 'no-store')
        self.finish('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head>'
                    '<body style="font-family:system-ui,sans-serif;margin:2em"><h1>Signed out</h1>'
                    '<p>You are signed out. To sign in again, open the address you were given (with its '
                    '<code>?token=…</code>).</p></body></html>')


class DoorIdentity(PasswordIdentityProvider):
    "Jupyter's token sign-in, with sessions that end at sign-out and wrong tokens throttled per address."

    logout_handler_class = Type(default_value=SignOut, klass=web.RequestHandler, config=True,
                                help='The sign-out page: ends the session on the server too.')

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._ended: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._failures: dict[str, collections.deque] = {}

    def end(self, username: str) -> None:
        "Refuse this signed-in session from now on."
        self._ended[username] = None
        while len(self._ended) > _ENDED_KEPT: self._ended.popitem(last=False)

    def get_user_cookie(self, handler):
        user = super().get_user_cookie(handler)
        return None if user is not None and user.username in self._ended else user

    async def get_user_token(self, handler):
        presented = bool(handler.get_argument('token', '') or
                         (handler.request.headers.get('Authorization') or '').lower().startswith('token '))
        if not presented: return await super().get_user_token(handler)
        where, now = handler.request.remote_ip or '', time.monotonic()
        seen = self._failures.setdefault(where, collections.deque())
        while seen and now - seen[0] > FAILURE_WINDOW: seen.popleft()
        if len(seen) >= MAX_FAILURES:
            raise web.HTTPError(429, reason='Too many wrong sign-in tokens from this address: wait a minute and try again.')
        user = await super().get_user_token(handler)
        if user is None: seen.append(now)
        elif not seen: self._failures.pop(where, None)
        if len(self._failures) > _ENDED_KEPT: self._failures.clear()     # bounded, whatever the addresses
        return user
