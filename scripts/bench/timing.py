"""Timing: the interleaved loop every worker runs, and the rules that turn samples into figures.

A point's figure is the smallest per-round median of its headline variant (each a median of
``runs`` timed runs after warm-up): background load only ever slows a round down, so the least
disturbed round is the best estimate; the spread of the round medians says how noisy it was.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable

from .peer_facts import HEADLINE

__all__ = ["cpu_seconds", "headline_ms", "spread", "time_variants"]


def time_variants(fns: dict[str, Callable[[], object]], warmup: int, runs: int) -> tuple:
    """(wall ms, process CPU ms) per run of each variant, variants interleaved run by run.

    Interleaving makes the choice of a peer's faster variant (e.g. torch NCHW or channels_last)
    no load artefact. CPU time is what the run cost this process: on a loaded machine it leaves
    out the time the scheduler gave to other jobs, so at one thread it estimates the
    quiet-machine wall time.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            t1, c1 = time.perf_counter(), time.process_time()
            wall[name].append((t1 - t0) * 1e3)
            cpu[name].append((c1 - c0) * 1e3)
    return wall, cpu


def cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (the torch-mlir importer)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def headline_ms(rounds: list[dict], peer: str, threads: str, key: str) -> tuple[float, str]:
    """(smallest per-round median in ms, variant) of a peer's headline variant."""
    variants = rounds[0][peer][key][threads]
    best = {v: min(statistics.median(r[peer][key][threads][v]) for r in rounds) for v in variants}
    variant = HEADLINE[peer] or min(best, key=best.get)
    return best[variant], variant


def spread(rounds: list[dict], peer: str, threads: str) -> float:
    """max/min - 1 of the headline variant's per-round medians."""
    meds = []
    for r in rounds:
        samples = r[peer]["samples"][threads]
        variant = HEADLINE[peer] or min(samples, key=lambda v: statistics.median(samples[v]))
        meds.append(statistics.median(samples[variant]))
    return max(meds) / min(meds) - 1
