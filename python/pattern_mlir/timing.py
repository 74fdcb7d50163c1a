"""Latency measurement shared by the CLI and the demo (benchmarks have their own protocol)."""

from __future__ import annotations

import statistics
import time


def median_ms(fn, x, runs: int, warmup: int = 5, clock=time.perf_counter) -> float:
    """Median time of `fn(x)` in milliseconds over `runs` calls, after `warmup` calls.

    `clock` is wall time by default; `time.process_time` gives the process's CPU time, which
    on a shared machine leaves out the time other processes held the cores."""
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(runs):
        start = clock()
        fn(x)
        times.append(clock() - start)
    return 1e3 * statistics.median(times)
