"""Serving: a kernel manager with a cap for Voila (set in voila.json).

Each app visitor gets a kernel (~100 MB when the models are in the model server, ~700 MB when
Voila runs alone and every kernel loads torch, fastai and the models). Voila starts one per page
load with no limit, so a loop of page loads could exhaust memory; idle kernels are culled
(voila.json), and `CappedKernelManager` refuses a page with HTTP 503 "the server is busy" while
`max_kernels` kernels are running. A pool refill (Voila's preheated
kernels) waits for room instead of failing.
"""
from __future__ import annotations

import asyncio

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Int

__all__ = ['CappedKernelManager', 'BUSY_MESSAGE']

BUSY_MESSAGE = ('The server is busy: every app session is taken ({n} running). Please try again in a few '
                'minutes; idle sessions are closed after a while.')


class CappedKernelManager(AsyncMappingKernelManager):
    "AsyncMappingKernelManager that runs at most `max_kernels` kernels (pool kernels included)."

    max_kernels = Int(24, config=True, help='Most kernels running at once; a page beyond it gets HTTP 503.')

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._starting = 0

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
                return await super().start_kernel(*args, kernel_id=kernel_id, **kwargs)
            finally:
                self._starting -= 1
        return await super().start_kernel(*args, kernel_id=kernel_id, **kwargs)

    def __init_subclass__(cls, **kwargs):
        """Voila subclasses this for its kernel pools; while the server is full and a notebook's
        pooled kernel is not ready, report an empty pool, so the page gets the 503 at once instead
        of waiting for the refill."""
        super().__init_subclass__(**kwargs)
        pool_size = cls.__dict__.get('get_pool_size')
        if pool_size is None: return

        def get_pool_size(self, notebook_name: str) -> int:
            pool = getattr(self, '_pools', {}).get(notebook_name) or []
            if self.full() and not (pool and pool[0].done()): return 0
            return pool_size(self, notebook_name)
        cls.get_pool_size = get_pool_size
