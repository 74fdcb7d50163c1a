"""From raw samples to the report's figures: ms, ratios, GFLOP/s, compile times, targets.

Kept apart from measuring so that ``bench_models.py --render-only`` redraws the report from a
saved results file. A point's figure is the smallest per-round median of its headline variant
(``timing.headline_ms``, the layer benchmark's rule).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..peer_facts import DENSE_PEERS
from ..report import Point, View, best_peak
from ..report import views as views_of
from ..timing import headline_ms
from .files import ORDER

__all__ = ["DENSE_PEERS", "TARGETS", "ModelPoint", "ModelSummary", "summarise"]

# Targets of issue 5 item 6, at one thread against the fastest dense peer.
TARGETS = {"vgg16": 2.0, "resnet50": 1.5}
TARGET_VGG_COMPILE_S = 20.0


@dataclass
class ModelPoint(Point):
    """One model in one view."""

    dense_macs: int = 0


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


def summarise(results: dict) -> ModelSummary:
    views = views_of(results["models"])
    points, compile_, reload = {}, {}, {}
    models = sorted(results["models"], key=lambda m: ORDER.index(m) if m in ORDER else 99)
    for name in models:
        res = results["models"][name]
        rounds, macs = res["rounds"], results["prep"][name]["macs"]
        for view in views:
            t = str(view.threads)
            ms, variant = {}, {}
            for peer in rounds[0]:
                ms[peer], variant[peer] = headline_ms(rounds, peer, t, view.key)
            spread = {k.split("/")[0]: v for k, v in res["spread"].items() if k.endswith(f"/t{t}")}
            points[(name, view)] = ModelPoint(
                name, view, ms, variant, macs["kept"], spread, dense_macs=macs["dense"]
            )
        compile_[name] = rounds[0]["pattern"]["info"]["compile"]
        reload[name] = {}
        for r in rounds[1:]:
            for t, s in r["pattern"]["info"].get("load_s", {}).items():
                reload[name][t] = min(s, reload[name].get(t, s))
    fma_peak = best_peak(results)
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
