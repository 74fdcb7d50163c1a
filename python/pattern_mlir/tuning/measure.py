"""Timing one layer for a schedule, robustly on a shared, noisy machine.

What is timed is what ships: the layer compiled by the compiler's own stages with the
candidate as its `#pattern.schedule` (`compiled_layer.py`), one whole compiled call each run
(input padding, kernel, threads), not a separately lowered kernel.

Why thread CPU time: the tuner's machine is shared (2 cores, heavily loaded while this was
written), so wall-clock times of one kernel varied several-fold while the thread's CPU time
(``CLOCK_THREAD_CPUTIME_ID``: time the kernel's thread actually ran, stalls on memory included,
preemption excluded) stayed within a few per cent (measured: docs/design.md, section 10).
Kernels are timed on one thread (the schedule is the per-thread loop nest; threads split
filters). Every sample runs the kernel enough times to last about ``sample_ms``, and a
candidate's time is the median of its samples. ``clock="wall"`` measures wall time instead, for
a quiet machine; a thread budget above one (``threads``: each schedule runs its own number of
filter groups, at most that many) needs it, as the other threads' work is not on the caller's
CPU clock.

Early rejection (PatDNN's "hopeless candidates"): a candidate whose first sample is far slower
than the best time so far is dropped after that one sample; compile failures are rejected too.
"""

from __future__ import annotations

import statistics
import time
from collections import OrderedDict
from dataclasses import dataclass

from ..codegen.schedule import Schedule
from .compiled_layer import CompiledLayer
from .layers import TuneLayer

__all__ = ["CLOCKS", "LayerBench", "Measurement"]

CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}


@dataclass(frozen=True)
class Measurement:
    """One candidate's result. ``ms`` is None when it failed to compile or run."""

    schedule: Schedule
    ms: float | None
    samples: tuple[float, ...] = ()
    rejected: bool = False  # stopped early: hopeless next to the best so far
    error: str | None = None

    @property
    def status(self) -> str:
        if self.error is not None:
            return "failed"
        return "rejected" if self.rejected else "ok"


class LayerBench:
    """Compiles and times one layer's kernel per schedule; keeps a few compiled kernels."""

    def __init__(
        self,
        layer: TuneLayer,
        *,
        clock: str = "cpu",
        sample_ms: float = 3.0,
        keep: int = 6,
        threads: int = 1,
    ) -> None:
        if clock not in CLOCKS:
            raise ValueError(f"unknown clock {clock!r}; known: {sorted(CLOCKS)}")
        if threads > 1 and clock == "cpu":
            raise ValueError("timing more than one thread needs clock='wall'")
        why = layer.supported()
        if why:
            raise ValueError(f"cannot measure {layer.signature.shape_text()}: {why}")
        self.layer = layer
        self.clock = CLOCKS[clock]
        self.sample_ms = sample_ms
        self.threads = threads
        self._kernels: OrderedDict[Schedule, tuple[object, int]] = OrderedDict()
        self._keep = keep
        self.compile_seconds = 0.0

    def kernel(self, schedule: Schedule) -> tuple[object, int]:
        """(compiled kernel, runs per sample); compiled on first use, least recent evicted."""
        if schedule in self._kernels:
            self._kernels.move_to_end(schedule)
            return self._kernels[schedule]
        start = time.perf_counter()
        kernel = self._build(schedule)
        self.compile_seconds += time.perf_counter() - start
        self._time(kernel, 1)  # warm-up: page faults, caches (a shader's first-run JIT)
        once = self._time(kernel, 1)
        inner = max(1, min(1000, round(self.sample_ms / max(once, 1e-4))))
        self._kernels[schedule] = (kernel, inner)
        while len(self._kernels) > self._keep:
            self._kernels.popitem(last=False)
        return kernel, inner

    def close(self) -> None:
        """Free every compiled kernel."""
        self._kernels.clear()

    def retain(self, schedules) -> None:
        """Drop every compiled kernel but those of ``schedules`` (the finalists so far)."""
        keep = set(schedules)
        for s in [s for s in self._kernels if s not in keep]:
            del self._kernels[s]

    def pin(self, schedule: Schedule) -> None:
        """Keep ``schedule``'s kernel compiled (moved to the most recent end)."""
        self.kernel(schedule)

    def _build(self, schedule: Schedule) -> CompiledLayer:
        return CompiledLayer(self.layer, schedule, threads=self.threads)

    def _time(self, kernel: CompiledLayer, runs: int) -> float:
        clock, run = self.clock, kernel.run
        start = clock()
        for _ in range(runs):
            run()
        return (clock() - start) * 1e3 / runs

    def sample(self, schedule: Schedule) -> float:
        """One timing sample (ms per run) of an already compiled or compilable schedule."""
        kernel, inner = self.kernel(schedule)
        return self._time(kernel, inner)

    def measure(
        self,
        schedule: Schedule,
        repeats: int = 5,
        bound: float | None = None,
        reject_factor: float = 1.25,
    ) -> Measurement:
        """Median of ``repeats`` samples; stops after one if it exceeds bound x reject_factor."""
        try:
            first = self.sample(schedule)
        except Exception as error:  # noqa: BLE001  (whatever the generator or LLVM rejects)
            return Measurement(schedule, None, error=f"{type(error).__name__}: {error}")
        samples = [first]
        if bound is not None and first > bound * reject_factor:
            return Measurement(schedule, first, tuple(samples), rejected=True)
        for _ in range(repeats - 1):
            samples.append(self.sample(schedule))
        return Measurement(schedule, statistics.median(samples), tuple(samples))

    def compare(self, schedules: list[Schedule], rounds: int = 7) -> dict[Schedule, list[float]]:
        """Interleaved re-measurement (A B C C B A ...): every schedule's samples, in order.

        Interleaving spreads slow phases of the machine over all candidates, so their samples
        stay comparable; this is what decides between the search's finalists and the default.
        """
        for s in schedules:
            self.pin(s)
        samples: dict[Schedule, list[float]] = {s: [] for s in schedules}
        for r in range(rounds):
            order = schedules if r % 2 == 0 else schedules[::-1]
            for s in order:
                samples[s].append(self.sample(s))
        return samples
