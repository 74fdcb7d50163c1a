"""From raw samples to the report's figures: ms, ratios, GFLOP/s, compile times, targets.

Kept apart from measuring so that ``bench_models.py --render-only`` redraws the report from a
saved results file. A point's figure is the smallest per-round median of its headline variant
(``bench_peers.summary._ms``, the layer benchmark's rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench_peers.summary import View, _ms

from .files import ORDER
from .peers import DENSE_PEERS

__all__ = ["DENSE_PEERS", "TARGETS", "ModelPoint", "ModelSummary", "summarise"]

# Targets of issue 5 item 6, at one thread against the fastest dense peer.
TARGETS = {"vgg16": 2.0, "resnet50": 1.5}
TARGET_VGG_COMPILE_S = 20.0


@dataclass
class ModelPoint:
    """One model in one view."""

    model: str
    view: View
    ms: dict[str, float]  # peer -> headline ms
    variant: dict[str, str]
    dense_macs: int
    kept_macs: int
    spread: dict[str, float] = field(default_factory=dict)

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


@dataclass
class ModelSummary:
    views: list[View]
    points: dict[tuple[str, View], ModelPoint]
    models: list[str]
    prep: dict[str, dict]  # model -> preparation meta (MACs, shapes)
    compile: dict[str, dict]  # model -> threads -> {"wall_s", "cpu_s", "stages"}
    reload: dict[str, dict]  # model -> threads -> seconds to reload + JIT in later rounds
    arm64: dict[str, dict]
    checks: dict[str, dict]
    failed: dict[str, dict]  # model -> dense peer -> error (left out of that model)
    errors: dict[str, str]  # model -> error (the model could not be measured at all)
    fma_peak: dict[int, float]
    loads: list[float]  # 1-minute load average before every process, in run order
    busy: list[float]  # cores other jobs used in the second before every process

    def view(self, threads: int, clock: str = "wall") -> View | None:
        v = View(threads, clock)
        return v if v in self.views else None


def _views(results: dict) -> list[View]:
    first = next(iter(results["models"].values()))["rounds"][0]["pattern"]
    threads = sorted(int(t) for t in first["samples"])
    views = [View(t, "wall") for t in threads]
    if 1 in threads:
        views.insert(1, View(1, "cpu"))  # at one thread CPU time estimates the quiet wall time
    return views


def summarise(results: dict) -> ModelSummary:
    views = _views(results)
    points, compile_, reload = {}, {}, {}
    models = sorted(results["models"], key=lambda m: ORDER.index(m) if m in ORDER else 99)
    for name in models:
        res = results["models"][name]
        rounds, macs = res["rounds"], results["prep"][name]["macs"]
        for view in views:
            t = str(view.threads)
            ms, variant = {}, {}
            for peer in rounds[0]:
                ms[peer], variant[peer] = _ms(rounds, peer, t, view.key)
            spread = {k.split("/")[0]: v for k, v in res["spread"].items() if k.endswith(f"/t{t}")}
            points[(name, view)] = ModelPoint(
                name, view, ms, variant, macs["dense"], macs["kept"], spread
            )
        compile_[name] = rounds[0]["pattern"]["info"]["compile"]
        reload[name] = {}
        for r in rounds[1:]:
            for t, s in r["pattern"]["info"].get("load_s", {}).items():
                reload[name][t] = min(s, reload[name].get(t, s))
    fma_peak: dict[int, float] = {}
    for run in results.get("peak", []):
        for t, s in run["samples"].items():
            fma_peak[int(t)] = max(fma_peak.get(int(t), 0.0), s["max"])
    return ModelSummary(
        views=views,
        points=points,
        models=models,
        prep={m: results["prep"][m] for m in models},
        compile=compile_,
        reload=reload,
        arm64=results.get("arm64", {}),
        checks={m: results["models"][m]["checks"] for m in models},
        failed={m: results["models"][m].get("failed", {}) for m in models},
        errors=results.get("errors", {}),
        fma_peak=fma_peak,
        loads=[x for m in models for x in results["models"][m]["load"]],
        busy=[x for m in models for x in results["models"][m].get("busy", [])],
    )
