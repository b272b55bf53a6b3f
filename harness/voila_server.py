"""Start and stop a real Voila server (alone, with the model server as `python -m predictors serve`, or as
`make serve`) or the model server alone, on free local ports, for the tests and the benchmarks."""
import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ['free_port', 'VoilaServer', 'ApiServer', 'ROOT', 'VOILA', 'PY', 'memory_mb', 'part_of', 'by_part', 'demo_model_server', 'PeakWatch', 'scratch']

ROOT = Path(__file__).resolve().parent.parent
VOILA = str(ROOT / '.venv' / 'bin' / 'voila')
PY = str(ROOT / '.venv' / 'bin' / 'python')


def scratch(prefix: str) -> Path:
    "A temporary folder removed when this process ends (a benchmark's logs, prediction database and notebooks)."
    d = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, d, True)
    return d


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


class _Server:
    "A server run in its own process group from `cwd`, up once `probe` answers HTTP; `stop` ends the group."
    cmd, cwd, env, log, timeout, proc, probe = (), ROOT, None, None, 300, None, ''

    def log_text(self): return self.log.read_text(errors='replace') if self.log and self.log.exists() else ''

    def start(self):
        out = open(self.log, 'a') if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + self.timeout
        while True:
            try:
                urllib.request.urlopen(self.probe, timeout=2); break
            except urllib.error.HTTPError:      # any answer: it is up (GET / may take a kernel)
                break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop(signal.SIGKILL)
                raise RuntimeError(f'{" ".join(self.cmd)} did not start:\n' + self.log_text()[-3000:])
            time.sleep(0.3)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=30):
        "Signal the server's process group; SIGKILL if it has not ended in `timeout` s."
        if self.proc is None: return
        try:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL); self.proc.wait(10)
        except ProcessLookupError:
            pass
        self.proc = None

    def __enter__(self): return self.start()

    def __exit__(self, *exc): self.stop()


class VoilaServer(_Server):
    """`with VoilaServer(args, env=..., log=path) as srv:` runs `voila ARGS --port=P` from the project
    folder and waits until it answers HTTP. `serve=True`: the model server and Voila together
    (`python -m predictors serve`, thin app kernels; `api_url` is the model server's); `make=True`:
    the same through `make serve PORT=P API_PORT=Q OPERATOR_PORT=R`. With either, the operators' door
    is at `operator_url` and its token `operator_token` (set here unless `env` sets one). `more_ports`:
    more visitors' Voila processes (`serve=True`)."""

    def __init__(self, args=('notebooks',), env=None, log=None, make=False, serve=False, port=None, api_port=None,
                 timeout=300, cwd=ROOT, operator_port=None, more_ports=()):
        self.port, self.api_port, self.operator_port = port or free_port(), api_port or free_port(), operator_port or free_port()
        self.url = f'http://127.0.0.1:{self.port}/'
        self.api_url = f'http://127.0.0.1:{self.api_port}' if make or serve else None
        self.operator_url = f'http://127.0.0.1:{self.operator_port}/' if make or serve else None
        if make: self.cmd = ['make', 'serve', f'PORT={self.port}', f'API_PORT={self.api_port}',
                             f'OPERATOR_PORT={self.operator_port}']
        elif serve: self.cmd = [PY, '-m', 'predictors', 'serve', '--port', str(self.port),
                                *(x for p in more_ports for x in ('--port', str(p))), '--api-port',
                                str(self.api_port), '--operator-port', str(self.operator_port), '--', *map(str, args[1:])]
        else: self.cmd = [VOILA, *map(str, args), f'--port={self.port}', '--Voila.ip=127.0.0.1']
        env = {k: str(v) for k, v in (env or {}).items()}
        if make or serve: env.setdefault('FASTAI_APPS_OPERATOR_TOKEN', 'operator-' + os.urandom(12).hex())
        self.operator_token = env.get('FASTAI_APPS_OPERATOR_TOKEN')
        self.env = dict(os.environ, **env)
        self.log, self.timeout, self.cwd = Path(log) if log else None, timeout, cwd
        self.probe = self.url + 'favicon.ico'

    def app(self, nb):
        "The page of a notebook: the operators' door (signed in with its token) for the monitor and the setup check."
        if self.operator_url and nb in ('monitor.ipynb', '00_verify_setup.ipynb'):
            return f'{self.operator_url}voila/render/{nb}?token={self.operator_token}'
        return f'{self.url}voila/render/{nb}'

    def wait_for_pools(self, n, timeout=300):
        "Wait until `n` preheated kernel pools are filled (needs `log`)."
        end = time.time() + timeout
        while self.log_text().count('is filled with') < n:
            if time.time() > end: raise RuntimeError('the kernel pools did not fill:\n' + self.log_text()[-3000:])
            time.sleep(0.5)

    def processes(self):
        "The live processes of the server (itself and its descendants)."
        import psutil
        root = psutil.Process(self.proc.pid)
        out = []
        for p in [root] + root.children(recursive=True):
            try:
                if p.status() != psutil.STATUS_ZOMBIE: out.append(p)
            except psutil.Error:
                pass                            # it ended meanwhile
        return out

    def kernels(self):
        "{kernel id: process} of the app kernels."
        import re
        out = {}
        for p in self.processes():
            try:
                m = re.search(r'kernel-([0-9a-f-]{36})\.json', ' '.join(p.cmdline()))
            except Exception:  # noqa: BLE001 - it ended meanwhile
                continue
            if m: out[m.group(1)] = p
        return out

    def door_kernels(self, port) -> int:
        "How many kernels the Voila process listening on `port` runs."
        for p in self.processes():
            try:
                if f'--port={port}' in p.cmdline():
                    return sum(_is_kernel(c) for c in p.children(recursive=True))     # (forked by its fork server)
            except Exception:  # noqa: BLE001 - it ended meanwhile
                pass
        return 0

    def api_process(self):
        "The model server's process (`python -m predictors api`), or None."
        for p in self.processes():
            try:
                if 'predictors api' in ' '.join(p.cmdline()): return p
            except Exception:  # noqa: BLE001
                pass
        return None

    def usage(self):
        "(MB of memory the server and its live descendants take (`memory_mb`), how many of those are kernels)."
        procs = self.processes()
        return memory_mb(procs), sum(_safe(_is_kernel, p, False) for p in procs)


def memory_mb(processes) -> float:
    """MB of memory `processes` take together: the sum of their proportional set sizes (PSS: a page shared by n
    processes counts 1/n in each), so forked processes that share pages are not counted again for each."""
    return sum(_safe(lambda p: p.memory_full_info().pss, p, 0) for p in processes) / 2 ** 20


def part_of(p) -> str:
    "Which part of the served tree process `p` is: model server, app kernel, door (Voila), fork server, supervisor."
    cmd = ' '.join(_safe(lambda p: p.cmdline(), p, []))
    return ('model server' if 'predictors api' in cmd else 'app kernels' if _safe(_is_kernel, p, False) else
            'doors (Voila)' if 'predictors.web.appserver' in cmd or '/bin/voila ' in cmd + ' ' else 'fork servers' if 'predictors.web.forks' in cmd
            else 'supervisor')


def by_part(processes, measure) -> dict:
    "{part: the sum of `measure(process)` over its processes} (`part_of`)."
    out = {}
    for p in processes:
        part = part_of(p)
        out[part] = out.get(part, 0) + _safe(measure, p, 0)
    return out


class PeakWatch:
    """`with PeakWatch(measure, first) as w:` samples `measure()` (a tuple: its first item is compared) every second
    while the block runs; `w.peak` is the largest sample, `first` (a sample taken already) included."""

    def __init__(self, measure, first):
        import threading
        self.measure, self.peak, self._stop = measure, first, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        while not self._stop.is_set():
            m = self.measure()
            if m[0] > self.peak[0]: self.peak = m
            self._stop.wait(1)

    def __enter__(self):
        self._thread.start(); return self

    def __exit__(self, *exc):
        self._stop.set(); self._thread.join()


def _safe(f, p, default):
    try:
        return f(p)
    except Exception:  # noqa: BLE001 - it ended meanwhile
        return default


def _is_kernel(p) -> bool:
    "Whether process `p` is a kernel: the doors' (`predictors.web.kernel`) or a plain ipykernel."
    cmd = ' '.join(p.cmdline())
    return 'predictors.web.kernel ' in cmd or 'ipykernel' in cmd


class ApiServer(_Server):
    """`with ApiServer(env=..., log=path) as api:` runs the model server (`python -m predictors api`) on a
    free port and waits until /healthz answers; `api.url`, `api.proc`."""

    def __init__(self, env=None, log=None, port=None, timeout=120):
        self.port = port or free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.env = dict(os.environ, **{k: str(v) for k, v in (env or {}).items()})
        self.log, self.timeout = Path(log) if log else None, timeout
        self.cmd, self.probe = [PY, '-m', 'predictors', 'api', '--port', str(self.port)], self.url + '/healthz'

    def wait_ready(self, timeout=120):
        "Until /readyz says every active model loads and answers."
        end = time.time() + timeout
        while time.time() < end:
            try:
                token = self.env.get('FASTAI_APPS_API_TOKEN')
                req = urllib.request.Request(self.url + '/readyz', headers={'Authorization': f'Bearer {token}'} if token else {})
                urllib.request.urlopen(req, timeout=30); return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError('the model server did not become ready')


@contextlib.contextmanager
def demo_model_server(folder: Path, env=None, timeout=120):
    """`with demo_model_server(folder, env) as srv:` the model server on a copy of the demo store in `folder`, with a
    fresh log there and `env` besides: `srv.store` (that copy), `srv.log_db`, `srv.http` (an httpx client of it)."""
    import httpx
    from predictors import ModelStore
    shutil.copytree(ModelStore(ROOT / 'models').root, folder / 'models')
    env = dict(FASTAI_APPS_MODELS=folder / 'models', FASTAI_APPS_LOG=folder / 'log.db', **(env or {}))
    with ApiServer(env=env, log=folder / 'api.log') as srv, httpx.Client(base_url=srv.url, timeout=timeout) as http:
        srv.store, srv.log_db, srv.http = ModelStore(folder / 'models'), folder / 'log.db', http
        yield srv
