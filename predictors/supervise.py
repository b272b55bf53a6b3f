"""`make serve` (`python -m predictors serve`): the model server and the Voilà apps, started and stopped together.

The model server listens on 127.0.0.1 only; Voilà serves `notebooks/` with `FASTAI_APPS_API`
pointing at it, so every app kernel is thin (no torch, no fastai). If the model server dies it
is started again within seconds (the apps say "the model server is restarting" and retry
meanwhile). Ctrl-C (SIGINT) or SIGTERM stops both; if Voilà stops, the model server is stopped
too and its exit status is returned. Children die with this process even if it is killed.
"""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = ['serve']

ROOT = Path(__file__).resolve().parent.parent


def _die_with_parent():
    "In the child: get SIGTERM when the supervisor dies, however it dies (Linux)."
    try:
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except OSError:
        pass


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(('127.0.0.1', port)); return True
        except OSError:
            return False


def _say(text: str) -> None: print(f'[serve] {text}', file=sys.stderr, flush=True)


def serve(host: str = '127.0.0.1', port: int = 8866, api_port: int = 8865, api_workers: int = 1, voila_args=()) -> int:
    "Run the model server and Voilà until Voilà stops or a signal comes; restart the model server if it dies."
    if not _port_free(api_port):
        _say(f'port {api_port} is taken: the model server needs it (choose another: API_PORT=… make serve).')
        return 2
    api_url = f'http://127.0.0.1:{api_port}'
    env = dict(os.environ, FASTAI_APPS_API=api_url)
    api_cmd = [sys.executable, '-m', 'predictors', 'api', '--host', '127.0.0.1', '--port', str(api_port),
               '--workers', str(api_workers)]
    voila_cmd = [sys.executable, '-m', 'voila', 'notebooks', f'--Voila.ip={host}', f'--port={port}', *voila_args]
    start = lambda cmd: subprocess.Popen(cmd, cwd=ROOT, env=env, preexec_fn=_die_with_parent)
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM): signal.signal(sig, lambda s, f: stopping.append(s))

    api, api_started, quick_deaths = start(api_cmd), time.monotonic(), 0
    _say(f'model server at {api_url} (docs: {api_url}/docs)')
    voila = start(voila_cmd)
    _say(f'apps at http://{host}:{port}/ (Ctrl-C stops both)')
    code = 0
    try:
        while not stopping:
            if voila.poll() is not None:
                code = voila.returncode
                _say(f'Voilà stopped (exit status {code}); stopping the model server')
                break
            if api.poll() is not None:
                quick_deaths = quick_deaths + 1 if time.monotonic() - api_started < 10 else 0
                delay = min(30, 2 ** max(0, quick_deaths - 2))    # a server that keeps failing is retried less often
                _say(f'the model server stopped (exit status {api.returncode}); starting it again'
                     + (f' in {delay} s' if delay > 1 else ''))
                end = time.monotonic() + (delay if delay > 1 else 0)
                while time.monotonic() < end and not stopping: time.sleep(0.2)
                if stopping: break
                api, api_started = start(api_cmd), time.monotonic()
            time.sleep(0.2)
    finally:
        for p in (voila, api):
            if p.poll() is None: p.send_signal(signal.SIGTERM)
        for p in (voila, api):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill(); p.wait()
    return code
