"""What keeps the model server answering whatever its callers do (#25): a deadline on request bodies, one log
line for a caller that went away, and a plain 500 for the unexpected that leaves the connection usable.

`Sturdy` is an ASGI middleware between `Guard` and the routes:
- a body must keep coming: no chunk for `STALL` seconds, or under `MIN_RATE` bytes a second on average
  once `STALL` seconds have passed, and the request is answered 408 and its connection closed (300
  connections trickling a byte every 5 s were held for ever);
- a caller that disconnects while sending its body is logged in one line (it was a ~75-line traceback);
- an unexpected error is answered 500 `{"detail": …}` naming its kind only (no file path, no SQL), its
  traceback goes to the server's log once, and the connection stays open for the caller's next request
  (Starlette answered, then re-raised, and uvicorn dropped the connection).
"""
from __future__ import annotations

import asyncio
import json
import logging
import time

__all__ = ['Sturdy', 'STALL', 'MIN_RATE']

STALL = 30.0              # seconds a body may pause
MIN_RATE = 10 * 1024      # bytes a second a body must average once STALL seconds have passed
_log = logging.getLogger('predictors.api')


class _SlowBody(Exception):
    "The request's body stopped coming, or comes too slowly to finish."


class Sturdy:
    "The three behaviours above, for every HTTP request."

    def __init__(self, app, stall: float = STALL, min_rate: float = MIN_RATE):
        self.app, self.stall, self.min_rate = app, stall, min_rate

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http': return await self.app(scope, receive, send)
        started, received, sent, whole = time.monotonic(), 0, False, False

        async def timed_receive():
            nonlocal received, whole
            if whole: return await receive()       # the body is in: waiting for a disconnect has no deadline
            try:
                message = await asyncio.wait_for(receive(), self.stall)
            except asyncio.TimeoutError:
                raise _SlowBody(f'no part of the body came for {self.stall:.0f} s') from None
            if message['type'] == 'http.request':
                received, whole = received + len(message.get('body', b'')), not message.get('more_body')
                elapsed = time.monotonic() - started
                if message.get('more_body') and elapsed > self.stall and received / elapsed < self.min_rate:
                    raise _SlowBody(f'the body came at {received / elapsed:,.0f} bytes a second')
            return message

        async def watched_send(message):
            nonlocal sent
            if message['type'] == 'http.response.start': sent = True
            await send(message)
        try:
            await self.app(scope, timed_receive, watched_send)
        except _SlowBody as e:
            _log.warning('%s %s: %s; answered 408', scope.get('method'), scope.get('path'), e)
            if not sent: await _answer(send, 408, f'the request was too slow: {e}; send it again.', close=True)
        except Exception as e:  # noqa: BLE001 - every request gets an answer; the server keeps going
            if type(e).__name__ == 'ClientDisconnect':
                _log.info('%s %s: the caller went away while sending its body', scope.get('method'), scope.get('path'))
                return
            _log.exception('%s %s failed', scope.get('method'), scope.get('path'))
            if not sent: await _answer(send, 500, f'the server could not answer ({type(e).__name__}); its log says why.')


async def _answer(send, status: int, reason: str, close: bool = False) -> None:
    body = json.dumps({'detail': reason}).encode()
    headers = [(b'content-type', b'application/json'), (b'content-length', str(len(body)).encode())]
    if close: headers.append((b'connection', b'close'))
    await send({'type': 'http.response.start', 'status': status, 'headers': headers})
    await send({'type': 'http.response.body', 'body': body})
