"""Voilà's `wait_for_request`, without importing Voilà's server side into the kernel.

`voila.utils` imports jupyter_server, jupyterlab_server and jsonschema, whose URI grammar is built
at import: ~2 s of CPU in every app kernel, and many times that in wall time when a burst of
visitors starts kernels together. This does what `voila.utils.wait_for_request` does (voila 0.5)
with `websockets` alone.
"""
from __future__ import annotations

import asyncio
import json
import os
import threading

__all__ = ['wait_for_request']


def wait_for_request(url: str | None = None) -> None:
    """In a preheated Voilà kernel, wait here until a visitor's request arrives and put its
    information (VOILA_REQUEST_URL, QUERY_STRING, …) into the environment; elsewhere return at once."""
    if os.getenv('VOILA_PREHEAT', 'False') == 'False': return
    if url is None:
        base = os.getenv('VOILA_WS_BASE_URL', os.getenv('VOILA_SERVER_URL', '/'))
        url = (f'{os.getenv("VOILA_WS_PROTOCOL", "ws")}://{os.getenv("VOILA_APP_IP", "127.0.0.1")}:'
               f'{os.getenv("VOILA_APP_PORT", "8866")}{base}voila/query')
    ws_url = f'{url}/{os.getenv("VOILA_KERNEL_ID")}'
    got = []

    async def receive():
        import websockets
        try:
            async with websockets.connect(ws_url, open_timeout=5) as ws:
                got.append(await ws.recv())
        except (TimeoutError, OSError):
            pass                                  # no request info: the page still renders
        except websockets.ConnectionClosed:
            # the server closed the wait before any visitor came: it is stopping (and shutting this kernel
            # down, its sockets already closed): end here, quietly, with nobody's state to lose
            os._exit(0)

    thread = threading.Thread(target=lambda: asyncio.new_event_loop().run_until_complete(receive()))
    thread.start(); thread.join()
    if got: os.environ.update(json.loads(got[0]))
