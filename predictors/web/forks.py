"""App kernels forked from a warm parent that has already imported what every app kernel imports (#29).

A kernel started the usual way is a new Python that imports ipykernel, IPython, ipywidgets and the apps'
builders: ~0.3 s of CPU, and ~0.3 s more for the app's first imports, so when a burst of visitors empties the
preheated pools, their kernels start together and share the cores for many seconds. Here each door (Voilà process) starts one *fork
server* (`python -m predictors.web.forks SOCKET`), which imports all that once and then forks a child per
kernel: the child becomes the kernel (`predictors.web.kernel`, same arguments, environment and folder as
Jupyter would have started) in ~0.1 s of CPU, and shares the parent's memory pages until it writes them.

`ForkProvisioner` is the jupyter_client kernel provisioner that asks for the fork (`ThisPython` names it in
the kernel spec); anything it cannot fork, or a fork server that is gone, starts the usual way.
The fork server ends when its door does (its stdin closes); its kernels end with it (ipykernel's parent
watch). Each kernel runs in its own session (process group), as Jupyter starts them, and shows the command
line it would have had (`ps`, the tests' process lookups). Its socket lives in a folder named for its door's pid,
removed when it ends; a folder left by a door killed outright goes when the next door starts (`sweep`).
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner

__all__ = ['ForkProvisioner', 'ForkServer', 'Forked', 'KERNEL_MODULE', 'PRELOAD', 'serve', 'sweep']

KERNEL_MODULE = 'predictors.web.kernel'
# What an app kernel imports (the kernel, the widgets, the model server's client): imported once, before forking
PRELOAD = ('ipykernel.kernelapp', 'ipykernel.ipkernel', 'ipykernel.debugger', 'ipykernel.zmqshell', 'ipykernel.comm', 'IPython.core.completer',
           # what the kernel's start imports besides (its pdb, completer, logger, inspector, extension, history)
           'IPython.core.debugger', 'IPython.core.completerlib', 'IPython.core.logger', 'IPython.core.oinspect',
           'IPython.extensions.storemagic', 'IPython.utils.wildcard', 'sqlite3', 'psutil', 'faulthandler', 'runpy',
           'tornado.platform.asyncio',
           'ipywidgets', 'anywidget', 'widgets', 'widgets.preheat', 'predictors.service', 'predictors.service.remote',
           'httpx', 'httpcore', 'websockets', 'websockets.asyncio.client', 'setproctitle', KERNEL_MODULE)
# What those modules do at import when they find a running kernel (in the fork server there is none yet)


class Forked:
    "A forked kernel's process, as much of `subprocess.Popen` as a provisioner uses (it is the fork server's child)."

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None
        try:
            self._fd = os.pidfd_open(pid)
        except ProcessLookupError:
            self._fd, self.returncode = None, -1       # it ended already

    def poll(self) -> int | None:
        "None while it runs; then its status (-1: its parent, the fork server, collected it)."
        if self.returncode is None and select.select([self._fd], [], [], 0)[0]:
            os.close(self._fd); self._fd, self.returncode = None, -1
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._fd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f'kernel {self.pid}', timeout)
        return self.poll()

    def send_signal(self, sig: int) -> None:
        if self.poll() is None: os.kill(self.pid, sig)

    def kill(self): self.send_signal(signal.SIGKILL)

    def terminate(self): self.send_signal(signal.SIGTERM)


FOLDER = 'fastai-apps-forks-'       # + the door's pid + '-' + random: the fork server's folder, its socket inside


def sweep(tmp: str | None = None) -> list[Path]:
    "Remove this user's fork server folders whose door is gone (killed outright, it left its folder): those removed."
    gone = []
    for d in Path(tmp or tempfile.gettempdir()).glob(FOLDER + '*'):
        m = re.fullmatch(re.escape(FOLDER) + r'(\d+)-\w+', d.name)
        try:
            if not m or d.stat().st_uid != os.getuid(): continue
            os.kill(int(m[1]), 0)                         # its door is alive: keep it
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True); gone.append(d)
        except OSError:
            continue
    return gone


class ForkServer:
    "The door's side of the fork server: starts it on first use, asks it for kernels; one per process."

    _instance: ForkServer | None = None

    def __init__(self, log):
        self.log, self.proc, self._ready = log, None, None
        sweep()
        self.folder = Path(tempfile.mkdtemp(prefix=f'{FOLDER}{os.getpid()}-'))     # 0700: only this user connects
        self.path = self.folder / 'socket'

    @classmethod
    def get(cls, log) -> ForkServer:
        if cls._instance is None: cls._instance = cls(log)
        return cls._instance

    async def _start(self) -> None:
        self.folder.mkdir(mode=0o700, exist_ok=True)      # (a fork server that ended removed it)
        self.path.unlink(missing_ok=True)
        self.proc = subprocess.Popen([sys.executable, '-m', __name__, str(self.path)], stdin=subprocess.PIPE)
        for _ in range(1200):                     # its imports: a few seconds, many more while a burst shares the CPU
            if self.path.exists() or self.proc.poll() is not None: break
            await asyncio.sleep(0.05)
        if not self.path.exists(): raise RuntimeError(f'the fork server did not start (exit status {self.proc.poll()})')
        self.log.info('Fork server %d ready: app kernels start as its children', self.proc.pid)

    async def ready(self) -> None:
        "Start the fork server unless it is running (concurrent callers share the start)."
        if self.proc is not None and self.proc.poll() is None and self.path.exists(): return
        if self.proc is not None and self.proc.poll() is not None:
            self.log.warning('The fork server ended (exit status %s): starting another', self.proc.poll())
            self.proc, self._ready = None, None
        loop = asyncio.get_running_loop()
        if self._ready is None or self._ready.get_loop() is not loop: self._ready = loop.create_task(self._start())
        try:
            await asyncio.shield(self._ready)
        except Exception:
            self._ready = None
            raise

    def close(self) -> None:
        "Stop the fork server (its kernels end with it)."
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close(); self.proc.wait(30)
        self.proc, self._ready = None, None

    async def fork(self, argv: list[str], env: dict, cwd: str) -> int:
        "A new kernel process running `argv` (`python -m predictors.web.kernel …`) in `env` and `cwd`: its pid."
        await self.ready()
        reader, writer = await asyncio.open_unix_connection(str(self.path))
        try:
            writer.write(json.dumps({'argv': argv, 'env': dict(env), 'cwd': str(cwd)}).encode() + b'\n')
            await writer.drain()
            reply = json.loads(await asyncio.wait_for(reader.readline(), 30) or b'{}')
        finally:
            writer.close()
        if 'pid' not in reply: raise RuntimeError(reply.get('error', 'no answer from the fork server'))
        return reply['pid']


def forkable(cmd: list[str]) -> bool:
    "Whether `cmd` starts an app kernel with this very Python (what the fork server can become)."
    return len(cmd) > 3 and cmd[0] == sys.executable and cmd[1:3] == ['-m', KERNEL_MODULE]


class ForkProvisioner(LocalProvisioner):
    "jupyter_client's local provisioner whose kernels are forked from the door's fork server (else started as usual)."

    async def launch_kernel(self, cmd: list[str], **kwargs):
        if forkable(cmd):
            try:
                pid = await ForkServer.get(self.log).fork(cmd, kwargs.get('env') or os.environ, kwargs.get('cwd') or os.getcwd())
            except Exception as e:  # noqa: BLE001 - the kernel still starts, the usual way
                self.log.warning('Kernel not forked (%s: %s): starting it as a new process', type(e).__name__, e)
            else:
                self.process, self.pid, self.pgid = Forked(pid), pid, pid
                self.cwd = kwargs.get('cwd') or os.getcwd()
                return self.connection_info
        return await super().launch_kernel(cmd, **kwargs)


# --- the fork server's own process ---

def _become_kernel(request: dict) -> None:
    "In the forked child: become the kernel `request` describes (never returns)."
    status = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL); signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        argv = request['argv']
        import setproctitle
        setproctitle.setproctitle(' '.join(argv))                     # (before the environment changes)
        os.setsid()                                                   # its own process group, as Jupyter starts kernels
        fd = os.open(os.devnull, os.O_RDONLY); os.dup2(fd, 0); os.close(fd)
        os.chdir(request['cwd'])
        os.environ.clear(); os.environ.update(request['env'])
        sys.path[0] = request['cwd']                                  # what `python -m` puts first
        sys.argv = [KERNEL_MODULE, *argv[3:]]
        from predictors.web.kernel import run
        run(argv[3:], parent_handle=os.getppid())     # it ends when the fork server does
        status = 0
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else 0
    except BaseException:  # noqa: BLE001 - said on the door's output, then this child ends
        import traceback
        traceback.print_exc()
    finally:
        sys.stdout.flush(); sys.stderr.flush()
        os._exit(status)


def serve(path: str) -> None:
    "Import what app kernels import, then fork a kernel per request on the Unix socket `path` until stdin closes."
    import gc
    import importlib
    os.environ.setdefault('PYDEVD_DISABLE_FILE_VALIDATION', '1')     # (the debugger's import would warn about it)
    for name in PRELOAD:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)       # the kernels are collected as they end: no zombies
    signal.signal(signal.SIGINT, signal.SIG_IGN)        # Ctrl-C is the door's to handle; this ends with it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))   # (its door's process group stopped): end, tidily
    gc.collect(); gc.freeze()                           # the children's collections leave the shared pages alone
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path + '.new'); listener.listen(64)
    os.rename(path + '.new', path)                      # it appears once it listens
    try:
        _serve(listener)
    finally:
        listener.close()
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)       # its folder (and socket) with it


def _serve(listener) -> None:
    "Fork a kernel per request on `listener` until stdin closes."
    while True:
        ready = select.select([listener, sys.stdin], [], [])[0]
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1024): break    # the door ended
        if listener not in ready: continue
        conn, _ = listener.accept()
        with conn:
            try:
                request = json.loads(conn.makefile('rb').readline())
                if threading.active_count() > 1: raise RuntimeError('the fork server runs threads: forking is unsafe')
                pid = os.fork()
                if pid == 0:
                    listener.close(); conn.close()
                    _become_kernel(request)
                conn.sendall(json.dumps({'pid': pid}).encode() + b'\n')
            except Exception as e:  # noqa: BLE001 - that kernel starts the usual way
                conn.sendall(json.dumps({'error': f'{type(e).__name__}: {e}'}).encode() + b'\n')


if __name__ == '__main__':
    serve(sys.argv[1])
