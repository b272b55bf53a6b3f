"""Calls that arrive together share one forward pass (the model server's image requests)."""
from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future

__all__ = ['BatchQueue']


class BatchQueue:
    """Calls of `fn(items) -> rows` that arrive together share one call: each caller blocks until
    its rows are back. A worker thread takes what is queued (up to `max_items`, waiting at most
    `max_wait` s for more), so while one forward pass runs the next batch gathers."""

    def __init__(self, fn, max_items: int = 64, max_wait: float = 0.002):
        self.fn, self.max_items, self.max_wait = fn, max_items, max_wait
        self._q: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True, name='batch-queue')
        self._thread.start()

    def close(self) -> None:
        "Stop the worker thread once what is queued is answered."
        self._q.put(None)

    def __call__(self, items: list):
        fut: Future = Future()
        self._q.put((list(items), fut))
        return fut.result()

    def _run(self):
        while True:
            first = self._q.get()
            if first is None: return
            batch = [first]
            n, end = len(batch[0][0]), time.monotonic() + self.max_wait
            while n < self.max_items:
                try: nxt = self._q.get(timeout=max(0.0, end - time.monotonic()))
                except queue.Empty: break
                if nxt is None: self._q.put(None); break        # closing: answer these first
                batch.append(nxt); n += len(nxt[0])
            try:
                out = self.fn([x for items, _ in batch for x in items])
            except Exception as e:  # noqa: BLE001 - every waiting caller gets the failure
                for _, fut in batch: fut.set_exception(e)
                continue
            i = 0
            for items, fut in batch:
                fut.set_result(out[i:i + len(items)]); i += len(items)
