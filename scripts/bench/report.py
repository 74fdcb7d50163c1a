"""What the layer and model reports share: views of the samples, per-point figures, formatting.

Every figure of a report is derived from the saved results (so ``--render-only`` redraws a
report without running anything); the two reports read them the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .peer_facts import DENSE_PEERS

__all__ = [
    "Point",
    "View",
    "best_peak",
    "busy_text",
    "fmt",
    "how_made",
    "pct",
    "table_head",
    "views",
]


@dataclass(frozen=True)
class View:
    """A way of reading the samples: a thread count and a clock ("wall" or "cpu")."""

    threads: int
    clock: str

    @property
    def key(self) -> str:
        return "samples" if self.clock == "wall" else "cpu_samples"

    @property
    def title(self) -> str:
        t = f"{self.threads} thread{'s' if self.threads > 1 else ''}"
        return t if self.clock == "wall" else f"{t}, CPU time"


def views(subjects: dict) -> list[View]:
    """Wall clock at every thread count; CPU time at one thread, where it means wall time."""
    first = next(iter(subjects.values()))["rounds"][0]["pattern"]
    threads = sorted(int(t) for t in first["samples"])
    out = [View(t, "wall") for t in threads]
    if "cpu_samples" in first and 1 in threads:
        out.insert(1, View(1, "cpu"))
    return out


def best_peak(results: dict) -> dict[int, float]:
    """Threads -> the best FMA-loop GFLOP/s any of the run's peak probes saw."""
    peak: dict[int, float] = {}
    for run in results.get("peak", []):
        for t, s in run["samples"].items():
            peak[int(t)] = max(peak.get(int(t), 0.0), s["max"])
    return peak


@dataclass
class Point:
    """One subject (layer or model) in one view."""

    name: str
    view: View
    ms: dict[str, float]  # peer -> headline ms
    variant: dict[str, str]
    kept_macs: int
    spread: dict[str, float] = field(default_factory=dict)  # peer -> round medians' max/min - 1

    def ratio(self, peer: str) -> float:
        return self.ms[peer] / self.ms["pattern"]

    @property
    def fastest_dense(self) -> str:
        return min((p for p in DENSE_PEERS if p in self.ms), key=self.ms.get)

    @property
    def useful_gflops(self) -> float:
        return 2 * self.kept_macs / self.ms["pattern"] / 1e6

    @property
    def noisy(self) -> bool:
        return any(v > 0.10 for v in self.spread.values())


def fmt(v: float, digits: int = 3) -> str:
    """``digits`` significant digits (all digits left of the point when there are more)."""
    if v is None or math.isnan(v):
        return "-"
    if v >= 10**digits:
        return f"{v:.0f}"
    return f"{v:.{max(0, digits - 1 - math.floor(math.log10(abs(v))))}f}" if v else "0"


def pct(v: float) -> str:
    return "-" if math.isnan(v) else f"{100 * v:.0f} %"


def table_head(head: list[str]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]


def busy_text(busy: list[float]) -> str:
    """How many cores other jobs used in the second before each round or process."""
    if not busy:
        return "an unknown number of cores"
    quiet = sum(b <= 0.5 for b in busy)
    return (
        f"{min(busy):.1f} to {max(busy):.1f} cores (median {sorted(busy)[len(busy) // 2]:.1f}; "
        f"{quiet} of {len(busy)} rounds started with at most half a core busy)"
    )


def how_made(meta: dict) -> list[str]:
    """The commands that made the run, then the machine they ran on."""
    cpu = meta["lscpu"]
    return [
        "```",
        *(f"cd /work/main && .venv/bin/python {c}" for c in meta["commands"]),
        "```",
        "",
        (
            f"Machine: {cpu.get('Model name', '?')}, {cpu.get('CPU(s)', '?')} cores "
            f"({cpu.get('Thread(s) per core', '?')} thread per core, "
            f"{cpu.get('Hypervisor vendor', 'no')} guest), {cpu.get('vector ISA', '')}; "
            f"L1d {cpu.get('L1d cache', '?')}, L2 {cpu.get('L2 cache', '?')}, "
            f"L3 {cpu.get('L3 cache', '?')}; {meta['memory_gib']} GiB; Linux {meta['kernel']}, "
            f"Python {meta['python']}."
        ),
    ]
