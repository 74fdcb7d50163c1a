"""From raw samples to the figures of the report: ms, ratios, GFLOP/s, efficiency, targets.

Kept apart from measuring so that the report can be re-rendered from a saved results file
(``bench_layers.py --render-only``) without running anything.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from .. import report
from ..peer_facts import LAYER_DENSE_PEERS as DENSE_PEERS
from ..report import View, best_peak
from ..report import views as views_of
from ..timing import headline_ms
from .layers import LAYERS

__all__ = ["DENSE_PEERS", "Point", "Summary", "View", "summarise"]


@dataclass
class Point(report.Point):
    """One layer in one view."""

    kernel_ms: float | None = None  # pattern kernel alone (input already padded)

    @property
    def layer(self) -> str:
        return self.name

    @property
    def threads(self) -> int:
        return self.view.threads

    @property
    def dense_macs(self) -> int:
        return LAYERS[self.layer].dense_macs

    def dense_gflops(self, peer: str) -> float:
        """Dense-equivalent GFLOP/s (for MNN's Winograd more than it really computes)."""
        return 2 * self.dense_macs / self.ms[peer] / 1e6


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


def summarise(results: dict) -> Summary:
    views = views_of(results["layers"])
    points = {}
    for name, res in results["layers"].items():
        rounds = res["rounds"]
        first = rounds[0]
        for view in views:
            threads = str(view.threads)
            ms, variant = {}, {}
            for peer in first:
                ms[peer], variant[peer] = headline_ms(rounds, peer, threads, view.key)
            kernel = min(
                statistics.median(r["pattern"][view.key][threads]["kernel"]) for r in rounds
            )
            spread = {
                k.split("/")[0]: v for k, v in res["spread"].items() if k.endswith(f"/t{threads}")
            }
            kept = first["pattern"]["kept_macs"]
            points[(name, view)] = Point(name, view, ms, variant, kept, spread, kernel_ms=kernel)
    fma_peak = best_peak(results)
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
