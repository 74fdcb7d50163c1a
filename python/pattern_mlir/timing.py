"""Latency measurement shared by the CLI and the demo (benchmarks have their own protocol)."""

from __future__ import annotations

import statistics
import time


def median_ms(fn, x, runs: int, warmup: int = 5) -> float:
    """Median wall time of `fn(x)` in milliseconds over `runs` calls, after `warmup` calls."""
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)
