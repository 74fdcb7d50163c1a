"""From raw samples to the figures of the report: ms, ratios, GFLOP/s, efficiency, targets.

Kept apart from measuring so that the report can be re-rendered from a saved results file
(``bench_layers.py --render-only``) without running anything.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from .layers import LAYERS
from .measure import HEADLINE

__all__ = ["DENSE_PEERS", "Point", "Summary", "View", "summarise"]

DENSE_PEERS = ("torch", "ort", "mnn", "iree")
# Targets of issue 4 item 4.
TARGET_VGG_OVER_MNN = 2.0
TARGET_VGG_PEAK = 0.60
TARGET_RESNET_OVER_MNN = 1.5
TARGET_ARM64_BOUND = 0.85


def _ms(rounds: list[dict], peer: str, threads: str, key: str) -> tuple[float, str]:
    """(smallest per-round median in ms, variant) of a peer's headline variant."""
    variants = rounds[0][peer][key][threads]
    best = {v: min(statistics.median(r[peer][key][threads][v]) for r in rounds) for v in variants}
    variant = HEADLINE[peer] or min(best, key=best.get)
    return best[variant], variant


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


@dataclass
class Point:
    """One layer in one view."""

    layer: str
    view: View
    ms: dict[str, float]  # peer -> headline ms
    variant: dict[str, str]
    kernel_ms: float | None  # pattern kernel alone (input already padded)
    kept_macs: int
    spread: dict[str, float] = field(default_factory=dict)

    @property
    def threads(self) -> int:
        return self.view.threads

    @property
    def dense_macs(self) -> int:
        return LAYERS[self.layer].dense_macs

    def ratio(self, peer: str) -> float:
        return self.ms[peer] / self.ms["pattern"]

    @property
    def fastest_dense(self) -> str:
        return min((p for p in DENSE_PEERS if p in self.ms), key=self.ms.get)

    @property
    def useful_gflops(self) -> float:
        return 2 * self.kept_macs / self.ms["pattern"] / 1e6

    def dense_gflops(self, peer: str) -> float:
        """Dense-equivalent GFLOP/s (for MNN's Winograd more than it really computes)."""
        return 2 * self.dense_macs / self.ms[peer] / 1e6

    @property
    def noisy(self) -> bool:
        return any(v > 0.10 for v in self.spread.values())


@dataclass
class Summary:
    views: list[View]
    points: dict[tuple[str, View], Point]
    fma_peak: dict[int, float]  # threads -> GFLOP/s of the FMA loop (best seen)
    best_dense: dict[View, tuple[float, str]]  # (GFLOP/s, "peer layer")
    totals: dict[tuple[str, View], dict[str, float]]  # (net, view) -> peer -> ms
    checks: dict[str, dict]
    mca: dict[str, dict]
    loads: list[float]  # 1-minute load average at the start of every round
    busy: list[float]  # cores other jobs used in the second before every round

    def layers(self, net: str | None = None) -> list[str]:
        names = sorted({p.layer for p in self.points.values()}, key=list(LAYERS).index)
        return [n for n in names if net is None or LAYERS[n].net == net]

    def view(self, threads: int, clock: str = "wall") -> View | None:
        v = View(threads, clock)
        return v if v in self.views else None

    def efficiency(self, point: Point) -> tuple[float, float]:
        """Useful GFLOP/s as a share of (FMA-loop peak, best dense conv seen) in its view."""
        t = point.threads
        return (
            point.useful_gflops / self.fma_peak[t] if t in self.fma_peak else float("nan"),
            point.useful_gflops / self.best_dense[point.view][0],
        )


def _views(results: dict) -> list[View]:
    """Wall clock at every thread count; CPU time at one thread, where it means wall time."""
    first = next(iter(results["layers"].values()))["rounds"][0]["pattern"]
    threads = sorted(int(t) for t in first["samples"])
    views = [View(t, "wall") for t in threads]
    if "cpu_samples" in first and 1 in threads:
        views.insert(1, View(1, "cpu"))
    return views


def summarise(results: dict) -> Summary:
    views = _views(results)
    points = {}
    for name, res in results["layers"].items():
        rounds = res["rounds"]
        first = rounds[0]
        for view in views:
            threads = str(view.threads)
            ms, variant = {}, {}
            for peer in first:
                ms[peer], variant[peer] = _ms(rounds, peer, threads, view.key)
            kernel = min(
                statistics.median(r["pattern"][view.key][threads]["kernel"]) for r in rounds
            )
            spread = {
                k.split("/")[0]: v for k, v in res["spread"].items() if k.endswith(f"/t{threads}")
            }
            kept = first["pattern"]["kept_macs"]
            points[(name, view)] = Point(name, view, ms, variant, kernel, kept, spread)
    fma_peak = {}
    for run in results.get("peak", []):
        for t, s in run["samples"].items():
            fma_peak[int(t)] = max(fma_peak.get(int(t), 0.0), s["max"])
    best_dense = {}
    for view in views:
        best_dense[view] = max(
            (p.dense_gflops(peer), f"{peer} {p.layer}")
            for p in points.values()
            if p.view == view
            for peer in ("torch", "ort")
            if peer in p.ms
        )
    totals: dict[tuple[str, View], dict[str, float]] = {}
    for (name, view), p in points.items():
        layer = LAYERS[name]
        tot = totals.setdefault((layer.net, view), {})
        for peer, v in p.ms.items():
            tot[peer] = tot.get(peer, 0.0) + layer.count * v
    return Summary(
        views=views,
        points=points,
        fma_peak=fma_peak,
        best_dense=best_dense,
        totals=totals,
        checks={n: r["checks"] for n, r in results["layers"].items()},
        mca=results.get("mca", {}),
        loads=[x for r in results["layers"].values() for x in r["load"]],
        busy=[x for r in results["layers"].values() for x in r.get("busy", [])],
    )
