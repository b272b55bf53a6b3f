"""Signing in and out of a door: Jupyter's token sign-in with sign-out that ends the session, throttled wrong
tokens, and a token strength rule.

- `/logout` (GET or POST) clears the sign-in cookie and ends it on the server too: a copy of the old cookie
  is refused afterwards (Jupyter only asked the browser to forget it, and its page was a 500);
- after `MAX_FAILURES` wrong tokens from one address within `FAILURE_WINDOW` seconds, its sign-ins are
  answered 429 until the window has passed (50 guesses took 0.1 s);
- `weak_token` refuses a token shorter than `MIN_TOKEN` characters, at start;
- `/login` is the product's own page: one token field (throttled the same way), no password set-up form
  (Jupyter's stock page spoke of `jupyter server list`, and its *Setup a Password* form answered 500).
"""
from __future__ import annotations

import collections
import html
import secrets
import time

from jupyter_server.auth.identity import PasswordIdentityProvider
from jupyter_server.auth.login import LoginFormHandler
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.auth.decorator import allow_unauthenticated
from tornado import web
from traitlets import Type

__all__ = ['DoorIdentity', 'SignIn', 'SignOut', 'weak_token', 'MIN_TOKEN', 'MAX_FAILURES', 'FAILURE_WINDOW']

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


class SignIn(LoginFormHandler):
    "/login: a plain page with one field for the door's token (wrong ones answered 401, then throttled)."

    def _render(self, message=None):
        wrong = bool(message and message.get('error'))
        if wrong: self.set_status(401)
        self.set_header('Content-Type', 'text/html; charset=UTF-8')
        self.set_header('Cache-Control', 'no-store')
        nxt = html.escape(self.get_argument('next', default='/'))
        said = ('<p role="alert" style="color:#b3261e">That token is not this page\'s token: check it and try '
                'again.</p>' if wrong else '')
        self.finish(
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            'content="width=device-width,initial-scale=1"><title>Sign in</title></head>'
            '<body style="font-family:system-ui,sans-serif;margin:2em;max-width:34em"><h1>Sign in</h1>'
            '<p>This page needs the token its operator gave you. Open the address you were given (it ends in '
            '<code>?token=…</code>), or paste the token here.</p>' + said +
            f'<form method="post" action="{html.escape(self.request.path)}">{self.xsrf_form_html()}'
            f'<input type="hidden" name="next" value="{nxt}">'
            '<label for="token" style="display:block;margin-bottom:.3em">Token</label>'
            '<input id="token" name="password" type="password" autocomplete="current-password" required '
            'style="font:inherit;padding:.4em;width:100%;box-sizing:border-box">'
            '<button type="submit" style="font:inherit;margin-top:.8em;padding:.4em 1.2em">Sign in</button>'
            '</form></body></html>')


class DoorIdentity(PasswordIdentityProvider):
    "Jupyter's token sign-in, with sessions that end at sign-out and wrong tokens throttled per address."

    logout_handler_class = Type(default_value=SignOut, klass=web.RequestHandler, config=True,
                                help='The sign-out page: ends the session on the server too.')

    def __init__(self, **kwargs):
        kwargs['login_handler_class'] = SignIn         # Voilà passes its own (Jupyter's stock page)
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

    def _throttle(self, handler) -> collections.deque:
        "The recent wrong tokens of this handler's address; 429 when there were too many."
        where, now = handler.request.remote_ip or '', time.monotonic()
        seen = self._failures.setdefault(where, collections.deque())
        while seen and now - seen[0] > FAILURE_WINDOW: seen.popleft()
        if len(seen) >= MAX_FAILURES:
            raise web.HTTPError(429, reason='Too many wrong sign-in tokens from this address: wait a minute and try again.')
        return seen

    def _judged(self, handler, seen: collections.deque, user):
        "Count a wrong token against the address (a right one forgives it); `user` back."
        if user is None: seen.append(time.monotonic())
        elif not seen: self._failures.pop(handler.request.remote_ip or '', None)
        if len(self._failures) > _ENDED_KEPT: self._failures.clear()     # bounded, whatever the addresses
        return user

    async def get_user_token(self, handler):
        presented = bool(handler.get_argument('token', '') or
                         (handler.request.headers.get('Authorization') or '').lower().startswith('token '))
        if not presented: return await super().get_user_token(handler)
        seen = self._throttle(handler)
        return self._judged(handler, seen, await super().get_user_token(handler))

    def process_login_form(self, handler):
        "The token typed on the sign-in page (a door has a token, never a password to set up)."
        seen = self._throttle(handler)
        typed = handler.get_argument('password', default='')
        right = bool(self.token) and secrets.compare_digest(typed.encode(), self.token.encode())
        return self._judged(handler, seen, self.generate_anonymous_user(handler) if right else None)
