"""Serving: a kernel manager for Voila (set in voila.json) with a cap, owners, and no orphans.

Each app visitor gets a kernel (~100 MB when the models are in the model server, ~700 MB when
Voila runs alone and every kernel loads torch, fastai and the models). Voila starts one per page
load with no limit, so a loop of page loads could exhaust memory; idle kernels are culled
(voila.json), and `CappedKernelManager` refuses a page with HTTP 503 "the server is busy" while
`max_kernels` kernels are running, or when the visitor's address already holds
`max_kernels_per_address` of them. A pool refill (Voila's preheated kernels) waits for room instead
of failing.

Each kernel handed to a page belongs to the visitor who loaded it (`owned_by`, used by
`predictors.appserver`). A kernel whose page never connects its websocket within `connect_grace`
seconds of being served (a script loading pages, a tab closed while loading) is shut down, so
page loads alone cannot hold the cap until the idle cull.

A page's kernel is also shut down when it takes more than `max_kernel_memory` MB (widget state sent
by the page, an upload: the cap counts kernels, this bounds each) and when it restarts (it was
killed, or asked to shut down: Jupyter would start an empty kernel under the same id, which the
page cannot use). Either way the page's session watch then says the session expired.

`ThisPython` (also in voila.json) starts every kernel with the server's own Python.
"""
from __future__ import annotations

import asyncio
import contextlib
import sys
import time

from jupyter_client.kernelspec import NATIVE_KERNEL_NAME, KernelSpecManager, NoSuchKernel
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from tornado.ioloop import PeriodicCallback
from traitlets import Bool, Float, Int

__all__ = ['CappedKernelManager', 'ThisPython', 'BUSY_MESSAGE', 'YOURS_MESSAGE', 'FORK_PROVISIONER']

FORK_PROVISIONER = 'fastai-apps-fork'        # predictors.web.forks.ForkProvisioner (pyproject.toml's entry point)

BUSY_MESSAGE = ('The server is busy: every app session is taken ({n} running). Please try again in a few '
                'minutes; idle sessions are closed after a while.')
YOURS_MESSAGE = ('You have {n} app sessions open, the most one address may hold: close some of the tabs of these '
                 'apps (or wait: idle sessions are closed after a while), then reload.')


class CappedKernelManager(AsyncMappingKernelManager):
    "AsyncMappingKernelManager that runs at most `max_kernels` kernels (pool kernels included)."

    max_kernels = Int(24, config=True, help='Most kernels running at once; a page beyond it gets HTTP 503.')

    connect_grace = Float(60, config=True,
                          help='Seconds a served page has to connect to its kernel before the kernel is shut down.')

    max_kernels_per_address = Int(40, config=True,
                                  help='Most page kernels one client address holds at once (behind a proxy: '
                                       'its X-Forwarded-For); a page beyond it gets HTTP 503. 0: no limit.')

    max_kernel_memory = Int(2048, config=True,
                            help="MB of memory a page's kernel may take; one over it is shut down (0: no limit).")

    watch_interval = Float(5, config=True, help="Seconds between checks of the page kernels' memory.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._starting = 0
        self._owners: dict[str, str] = {}        # kernel id -> visitor
        self._addresses: dict[str, str] = {}     # kernel id -> the client address whose page it serves
        self._rendering: dict[str, list] = {}    # client address -> its pages being rendered
        self._told: set[str] = set()             # kernels whose shutting down is logged
        self._deadline: dict[str, float] = {}    # kernel id -> when it is shut down unless a page connects
        self._sweeper = None
        self._ending: dict[str, str] = {}        # kernel id -> why it is shut down at the next sweep

    def hand_over(self, kernel_id: str) -> None:
        "Give `kernel_id` to the visitor whose page is being rendered (`appserver.PAGE`), if any."
        from predictors.web.handlers import PAGE
        page = PAGE.get()
        if page is None or not kernel_id: return
        self._owners[kernel_id] = page['visitor']
        self._addresses[kernel_id] = page.get('address', '')
        page['kernels'].append(kernel_id)
        self._deadline[kernel_id] = time.monotonic() + max(600.0, self.connect_grace)   # until the page is served
        self.add_restart_callback(kernel_id, lambda: self._ending.setdefault(kernel_id, 'it restarted'))
        if self._sweeper is None:
            every = min(self.watch_interval, max(1.0, min(10.0, self.connect_grace / 4)))
            self._sweeper = PeriodicCallback(self._sweep, every * 1000)
            self._sweeper.start()

    def owned_by(self, kernel_id: str, visitor: str | None) -> bool:
        return visitor is not None and kernel_id in self and self._owners.get(kernel_id) == visitor

    def page_served(self, kernel_id: str) -> None:
        "The page is sent: its websocket must connect within `connect_grace` s."
        if kernel_id in self._deadline:
            self._deadline[kernel_id] = min(self._deadline[kernel_id], time.monotonic() + self.connect_grace)

    def connected(self, kernel_id: str) -> None:
        self._deadline.pop(kernel_id, None)

    async def _sweep(self):
        "Shut down the page kernels whose page never connected in time, those that restarted, those over the memory limit."
        for kid, why in list(self._ending.items()):     # (once the restart is over: a pending kernel cannot be shut down)
            if kid not in self or await self._end(kid, why): self._ending.pop(kid, None)
        now = time.monotonic()
        for kid, when in list(self._deadline.items()):
            if when <= now:
                self._deadline.pop(kid, None)
                await self._end(kid, f'its page never connected within {self.connect_grace:.0f} s')
        if self.max_kernel_memory:
            for kid in list(self._owners):
                mb = self._memory_mb(kid)
                if mb > self.max_kernel_memory:
                    await self._end(kid, f'it took {mb:,.0f} MB, over the limit of {self.max_kernel_memory:,} MB')

    def _memory_mb(self, kernel_id: str) -> float:
        "Resident memory of a kernel's process in MB (0 when it is not a local process or is gone)."
        import psutil
        try:
            process = self.get_kernel(kernel_id).provisioner.process
            return psutil.Process(process.pid).memory_info().rss / 2**20
        except (KeyError, AttributeError, psutil.Error):
            return 0.0

    async def _end(self, kernel_id: str, why: str) -> bool:
        "Shut down a page's kernel (its page then says the session expired); False if it cannot be yet."
        if kernel_id not in self: return True
        if kernel_id not in self._told:
            self._told.add(kernel_id)
            self.log.warning('Shutting down kernel %s: %s', kernel_id, why)
        try:
            await self.shutdown_kernel(kernel_id, now=True)
        except Exception as e:  # noqa: BLE001 - pending (restarting), or it ended meanwhile
            if kernel_id in self:
                self.log.debug('Kernel %s not shut down yet: %s', kernel_id, e)
                return False
        self._told.discard(kernel_id)
        return True

    def remove_kernel(self, kernel_id):
        self._owners.pop(kernel_id, None); self._deadline.pop(kernel_id, None); self._addresses.pop(kernel_id, None)
        return super().remove_kernel(kernel_id)

    @contextlib.contextmanager
    def page_for(self, page: dict):
        """While `page` (`{'visitor', 'kernels', 'address'}`) is rendered and its kernel handed over; 503 when
        its address already holds `max_kernels_per_address` page kernels, pages still waiting for one included."""
        address = page.get('address', '')
        waiting = self._rendering.setdefault(address, [])
        held = sum(a == address for a in self._addresses.values()) + sum(not p['kernels'] for p in waiting)
        if self.max_kernels_per_address and held >= self.max_kernels_per_address:
            if not waiting: del self._rendering[address]
            self.log.warning('A client address holds %d page kernels: page refused with 503', held)
            yours = YOURS_MESSAGE.format(n=held)
            raise web.HTTPError(503, yours, reason=yours)
        waiting.append(page)
        try:
            yield
        finally:
            waiting.remove(page)
            if not waiting: self._rendering.pop(address, None)

    def running(self) -> int:
        "Kernels running or starting."
        return len(self._kernels) + self._starting

    def full(self) -> bool:
        return self.running() >= self.max_kernels

    async def start_kernel(self, *args, kernel_id=None, **kwargs):
        if kernel_id is None or kernel_id not in self:
            if (kwargs.get('env') or {}).get('VOILA_PREHEAT') == 'True':
                while self.full(): await asyncio.sleep(1)       # a pool refill waits for room
            elif self.full():
                self.log.warning('Kernel cap reached (%d running): page refused with 503', self.running())
                busy = BUSY_MESSAGE.format(n=self.running())
                raise web.HTTPError(503, busy, reason=busy)     # Voila's error page shows the reason

            self._starting += 1
            try:
                kid = await super().start_kernel(*args, kernel_id=kernel_id, **kwargs)
            finally:
                self._starting -= 1
            if (kwargs.get('env') or {}).get('VOILA_PREHEAT') != 'True': self.hand_over(kid)
            return kid
        return await super().start_kernel(*args, kernel_id=kernel_id, **kwargs)

    def __init_subclass__(cls, **kwargs):
        """Voila subclasses this for its kernel pools; while the server is full and a notebook's
        pooled kernel is not ready, report an empty pool, so the page gets the 503 at once instead
        of waiting for the refill."""
        super().__init_subclass__(**kwargs)
        rendered = cls.__dict__.get('get_rendered_notebook')
        if rendered is not None:
            async def get_rendered_notebook(self, *args, **kw):
                out = await rendered(self, *args, **kw)
                self.hand_over(out[2])          # (render task, rendered cells, kernel id)
                return out
            cls.get_rendered_notebook = get_rendered_notebook
        pool_size = cls.__dict__.get('get_pool_size')
        if pool_size is None: return

        def get_pool_size(self, notebook_name: str) -> int:
            pool = getattr(self, '_pools', {}).get(notebook_name) or []
            if self.full() and not (pool and pool[0].done()): return 0
            return pool_size(self, notebook_name)
        cls.get_pool_size = get_pool_size


class ThisPython(KernelSpecManager):
    """The apps' kernels run the server's own Python (its `predictors`, store and log), never a `python3`
    kernel installed for the user that may belong to another checkout or environment; forked from the door's
    warm fork server (`predictors.web.forks`) unless `fork` is off."""

    fork = Bool(True, config=True, help='Fork app kernels from a process that has imported what they import '
                                        '(~0.2 s of CPU a kernel with its app) instead of starting each as a new Python (~0.65 s).')

    def find_kernel_specs(self) -> dict[str, str]:
        from ipykernel.kernelspec import RESOURCES
        return {NATIVE_KERNEL_NAME: RESOURCES}

    def get_kernel_spec(self, kernel_name: str):
        if kernel_name.lower() != NATIVE_KERNEL_NAME: raise NoSuchKernel(kernel_name)
        from ipykernel.kernelspec import RESOURCES
        spec = self._get_kernel_spec_by_name(NATIVE_KERNEL_NAME, RESOURCES)
        spec.argv = [sys.executable, '-m', 'predictors.web.kernel', *spec.argv[3:],     # ipykernel, quiet when stopped,
                     '--HistoryManager.enabled=False']           # no history database (and its thread) per visitor
        if self.fork: spec.metadata['kernel_provisioner'] = {'provisioner_name': FORK_PROVISIONER, 'config': {}}
        return spec
