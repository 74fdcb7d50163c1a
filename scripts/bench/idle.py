"""How busy the shared machine is right now: cores in use, waiting for a quieter moment, memory.

The 1-minute load average lags by a minute and counts waiting tasks; what matters for a round
that is about to start is how many cores other jobs use now. /proc/stat over one second gives
that (this process sleeps meanwhile, so all the use is someone else's). Memory is shared too:
the orchestrator stops a worker when too little stays available (``process``).
"""

from __future__ import annotations

import os
import time

__all__ = ["available_gib", "busy_cores", "wait_for_quiet"]


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]), idle


def busy_cores(interval: float = 1.0) -> float:
    """Cores in use by anything during the next ``interval`` seconds."""
    total0, idle0 = _cpu_times()
    time.sleep(interval)
    total1, idle1 = _cpu_times()
    total = max(1, total1 - total0)
    return (1 - (idle1 - idle0) / total) * (os.cpu_count() or 1)


def wait_for_quiet(max_busy: float, max_wait: float) -> tuple[float, float]:
    """Wait until at most ``max_busy`` cores are in use, or ``max_wait`` s; (busy, waited)."""
    t0 = time.perf_counter()
    busy = busy_cores()
    while busy > max_busy and time.perf_counter() - t0 < max_wait:
        busy = busy_cores()
    return busy, time.perf_counter() - t0


def available_gib() -> float:
    with open("/proc/meminfo") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["MemAvailable"].split()[0]) / 2**20
