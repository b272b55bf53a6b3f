"""`make serve` (`python -m predictors serve`): the model server and the apps' two doors, started and stopped together.

- the model server on 127.0.0.1 (`--api-port`), restarted within seconds if it dies (the apps say
  "the model server is restarting" and retry meanwhile);
- the visitors' door (`--host`, `--port`): the prediction apps, app kernels thin (`FASTAI_APPS_API`);
  bound beyond loopback it needs `$FASTAI_APPS_TOKEN` (else nothing starts and the reason is said).
  Several ports (`--port 8866 --port 8868`): one Voilà process on each, for a proxy in front
  (deploy/nginx-fastai-apps.conf) to share visitors among, all using the one model server;
- the operators' door (127.0.0.1, `--operator-port`): the monitor and the setup check, always behind
  a token: `$FASTAI_APPS_OPERATOR_TOKEN`, or one made for this run and shown once on this terminal.

`--keep 30d` deletes logged predictions older than that at start and once a day. Ctrl-C (SIGINT)
or SIGTERM stops everything; if a door stops, everything stops and its exit status is returned.
Children die with this process even if it is killed.
"""
from __future__ import annotations

import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from predictors.core.settings import (API_TOKEN_ENV, KERNEL_TOKEN_ENV, LOG_ENV, MODELS_ENV, OPERATOR_TOKEN_ENV, ROOT,
                                      TOKEN_ENV, Settings)
from predictors.core.helpers import parse_since
from predictors.web.signin import weak_token

__all__ = ['serve', 'OPERATOR_TOKEN_ENV', 'THIN_KERNEL_MB']

# a page's kernel here is thin (~100 MB: the models are in the model server); an upload at the limits and its
# copies fit in this, a kernel over it is shut down and its page says the session expired
THIN_KERNEL_MB = 1024


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


def _prune(keep: str | None, log: str) -> None:
    "Delete the predictions of the log at `log` older than `keep` (a window: 30d), and say how many."
    if not keep: return
    from predictors.monitoring.log import PredictionLog
    try:
        n = PredictionLog(log).prune(parse_since(keep))
        _say(f'prediction log: {n} prediction(s) older than {keep} deleted')
    except Exception as e:  # noqa: BLE001 - a log that cannot be pruned now does not stop the apps
        _say(f'prediction log: could not delete old predictions: {e}')


def _preflight(s: Settings, host: str, ports: list, api_port: int, operator_port: int, keep: str | None) -> str | None:
    "Why serving cannot start with the settings `s` (a missing token, a taken port, a bad --keep), or None."
    from predictors.web.appserver import sign_in_problem
    problem = sign_in_problem(host, s.token) or next(filter(None, (
        weak_token(TOKEN_ENV, s.token), weak_token(OPERATOR_TOKEN_ENV, s.operator_token),
        weak_token(API_TOKEN_ENV, s.api_token))), None)
    if problem: return problem
    for p, what in ((api_port, 'the model server'), *((p, 'the apps') for p in ports),
                    (operator_port, "the operators' door")):
        if not _port_free(p):
            return f'port {p} is taken: {what} need(s) it (choose another: PORT=… API_PORT=… OPERATOR_PORT=… make serve).'
    try:
        parse_since(keep)                 # a bad --keep fails before anything starts
    except ValueError as e:
        return f'--keep: {e}'
    return None


def _supervise(doors: dict, start_api, api, keep, stopping: list, log: str = '') -> int:
    "Watch the processes until a door stops or a signal comes, restarting the model server; then stop them all."
    code, pruned, api_started, quick_deaths = 0, time.monotonic(), time.monotonic(), 0
    try:
        while not stopping:
            ended = [(name, p) for name, p in doors.items() if p.poll() is not None]
            if ended:
                name, p = ended[0]
                code = p.returncode
                _say(f'{name} stopped (exit status {code}); stopping everything')
                break
            if api.poll() is not None:
                quick_deaths = quick_deaths + 1 if time.monotonic() - api_started < 10 else 0
                delay = min(30, 2 ** max(0, quick_deaths - 2))    # a server that keeps failing is retried less often
                _say(f'the model server stopped (exit status {api.returncode}); starting it again'
                     + (f' in {delay} s' if delay > 1 else ''))
                end = time.monotonic() + (delay if delay > 1 else 0)
                while time.monotonic() < end and not stopping: time.sleep(0.2)
                if stopping: break
                api, api_started = start_api(), time.monotonic()
            if keep and time.monotonic() - pruned > 86400:
                _prune(keep, log); pruned = time.monotonic()
            time.sleep(0.2)
    finally:
        procs = [*doors.values(), api]
        for p in procs:
            if p.poll() is None: p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill(); p.wait()
    return code


def serve(host: str = '127.0.0.1', port=8866, api_port: int = 8865, api_workers: int = 1,
          operator_port: int = 8867, keep: str | None = None, voila_args=()) -> int:
    """Run the model server and both doors until a door stops or a signal comes; restart the model server
    if it dies. `port` may be a list: one visitors' Voilà process per port."""
    ports = [port] if isinstance(port, int) else list(port)
    settings = Settings.from_env()                  # the entry point of `serve`: its children get what it resolved
    problem = _preflight(settings, host, ports, api_port, operator_port, keep)
    if problem:
        _say(problem); return 2
    _prune(keep, settings.log)
    api_url = f'http://127.0.0.1:{api_port}'
    base = {k: v for k, v in os.environ.items() if k not in (TOKEN_ENV, OPERATOR_TOKEN_ENV, API_TOKEN_ENV)}
    base['FASTAI_APPS_API'] = api_url
    # every process started here reads the store and log this command resolved, wherever `predictors` lives
    base.update({MODELS_ENV: str(settings.models.resolve()), LOG_ENV: settings.log_location()})
    operator_token = settings.operator_token or secrets.token_urlsafe(24)
    # the model server answers only with a token: programs show theirs (printed below), the app kernels and the
    # operators' pages the doors' own, made for each run and given to nothing else, so that what the server logs
    # as an app's answer (drift of the form's traffic, live accuracy) comes from the apps only
    api_token = settings.api_token or secrets.token_urlsafe(24)
    base[KERNEL_TOKEN_ENV] = secrets.token_urlsafe(24)
    api_cmd = [sys.executable, '-m', 'predictors', 'api', '--host', '127.0.0.1', '--port', str(api_port),
               '--workers', str(api_workers)]
    door = lambda name, h, p: [sys.executable, '-m', 'predictors.web.appserver', 'notebooks', f'--AppServer.door={name}',
                               f'--Voila.ip={h}', f'--port={p}', '--Voila.port_retries=0',
                               f'--CappedKernelManager.max_kernel_memory={THIN_KERNEL_MB}', *voila_args]
    start = lambda cmd, env=base: subprocess.Popen(cmd, cwd=ROOT, env=env, preexec_fn=_die_with_parent)
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM): signal.signal(sig, lambda s, f: stopping.append(s))

    # MALLOC_ARENA_MAX: the server's threads share two malloc arenas instead of one each (up to 16 here), so
    # the memory a burst of visitors took goes back instead of staying spread over the arenas
    start_api = lambda: start(api_cmd, dict(base, **{API_TOKEN_ENV: api_token, 'MALLOC_ARENA_MAX': '2'}))
    api = start_api()
    _say(f'model server at {api_url} (docs: {api_url}/docs; programs send `Authorization: Bearer` and '
         + (f'the token in ${API_TOKEN_ENV})' if settings.api_token else
            f'{api_token}, made for this run: set ${API_TOKEN_ENV} to choose one)'))
    visitor_env = dict(base, **({TOKEN_ENV: settings.token} if settings.token else {}))
    doors = {f'the apps on port {p}': start(door('visitors', host, p), visitor_env) for p in ports}
    doors["the operators' door"] = start(door('operators', '127.0.0.1', operator_port),
                                         dict(base, **{TOKEN_ENV: operator_token}))
    for p in ports:
        _say(f'apps at http://{host}:{p}/' + (' (sign-in: the token in $FASTAI_APPS_TOKEN)' if TOKEN_ENV in visitor_env else ''))
    _say(f'monitor and setup check at http://127.0.0.1:{operator_port}/'
         + (f' (sign-in: the token in ${OPERATOR_TOKEN_ENV})' if settings.operator_token
            else f'?token={operator_token} (made for this run; set ${OPERATOR_TOKEN_ENV} to choose one)'))
    _say('Ctrl-C stops everything')
    code = _supervise(doors, start_api, api, keep, stopping, settings.log)
    return code
