"""Timing for the benchmarks: the best of a few runs (the least disturbed by whatever else the machine does)."""
import time

__all__ = ['best']


def best(fn, repeat: int = 3) -> float:
    "Best of `repeat` runs of `fn()`, in seconds."
    out = float('inf')
    for _ in range(repeat):
        t = time.perf_counter(); fn(); out = min(out, time.perf_counter() - t)
    return out
