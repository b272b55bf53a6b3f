"""Start and stop a real Voila server (or `make serve`) on a free local port, for the tests and the
benchmarks."""
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ['free_port', 'VoilaServer', 'ROOT', 'VOILA']

ROOT = Path(__file__).resolve().parent.parent
VOILA = str(ROOT / '.venv' / 'bin' / 'voila')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


class VoilaServer:
    """`with VoilaServer(args, env=..., log=path) as srv:` runs `voila ARGS --port=P` (or `make serve
    PORT=P` when `make=True`) from the project folder and waits until it answers HTTP."""

    def __init__(self, args=('notebooks',), env=None, log=None, make=False, port=None, timeout=300):
        self.port = port or free_port()
        self.url = f'http://127.0.0.1:{self.port}/'
        self.cmd = (['make', 'serve', f'PORT={self.port}'] if make
                    else [VOILA, *map(str, args), f'--port={self.port}', '--Voila.ip=127.0.0.1'])
        self.env = dict(os.environ, **{k: str(v) for k, v in (env or {}).items()})
        self.log, self.timeout, self.proc = Path(log) if log else None, timeout, None

    def app(self, nb): return f'{self.url}voila/render/{nb}'

    def log_text(self): return self.log.read_text(errors='replace') if self.log else ''

    def start(self):
        out = open(self.log, 'a') if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + self.timeout
        while True:
            try:
                urllib.request.urlopen(self.url + 'favicon.ico', timeout=2); break
            except urllib.error.HTTPError:      # any answer: it is up (GET / may take a kernel)
                break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop(signal.SIGKILL)
                raise RuntimeError(f'{" ".join(self.cmd)} did not start:\n' + self.log_text()[-3000:])
            time.sleep(0.5)
        return self

    def wait_for_pools(self, n, timeout=300):
        "Wait until `n` preheated kernel pools are filled (needs `log`)."
        end = time.time() + timeout
        while self.log_text().count('is filled with') < n:
            if time.time() > end: raise RuntimeError('the kernel pools did not fill:\n' + self.log_text()[-3000:])
            time.sleep(0.5)

    def usage(self):
        "(resident MB of the server and its live descendants, how many of those are kernels)."
        import psutil
        root = psutil.Process(self.proc.pid)
        mb, kernels = 0.0, 0
        for p in [root] + root.children(recursive=True):
            try:
                if p.status() == psutil.STATUS_ZOMBIE: continue
                mb += p.memory_info().rss / 2 ** 20
                kernels += 'ipykernel' in ' '.join(p.cmdline())
            except psutil.Error:
                pass                            # it ended meanwhile
        return mb, kernels

    def stop(self, sig=signal.SIGTERM, timeout=30):
        "Signal the server's process group (make, voila); SIGKILL if it has not ended in `timeout` s."
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
