"""docs/bench_models.png: four panels that answer "is the whole model faster, and at what cost".

Top left: speedup of pattern-mlir over the fastest dense peer per model in every view, with the
issue's targets marked. Top right: the milliseconds behind it at one thread (CPU time when
measured, the load-robust figure). Bottom left: where compile time goes, with the 20 s VGG-16
target. Bottom right: how busy the shared machine was, so the reader can judge the noise.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ..peer_facts import COLOURS as _COLOURS
from ..plot import load_panel
from .report_md import _title
from .summary import DENSE_PEERS, TARGET_VGG_COMPILE_S, TARGETS, ModelSummary

__all__ = ["plot"]

_VIEW_COLOURS = ["#2ca02c", "#98df8a", "#17becf"]
_PEER_COLOURS = {"pattern": "#2ca02c", **_COLOURS}
_PEER_LABELS = {
    "pattern": "pattern-mlir",
    "torch": "torch",
    "ort": "ONNX Runtime",
    "mnn": "MNN",
    "iree": "IREE",
    "litert": "LiteRT",
}


_LOAD_TEXTS = {
    "load": "1-minute load average",
    "busy": "cores busy in the second before",
    "xlabel": "runtime process (in run order)",
    "title": "how busy the shared machine was before each timed process",
}


def _dense_run(s: ModelSummary) -> list[str]:
    """The dense peers measured on some model of this run."""
    return [p for p in DENSE_PEERS if any(p in pt.ms for pt in s.points.values())]


def _speedups(ax, s: ModelSummary) -> None:
    x = np.arange(len(s.models))
    width = 0.8 / len(s.views)
    top = 1.0
    for i, view in enumerate(s.views):
        ratios = [s.points[(m, view)].ratio(s.points[(m, view)].fastest_dense) for m in s.models]
        top = max(top, *ratios)
        bars = ax.bar(
            x + (i - (len(s.views) - 1) / 2) * width,
            ratios,
            width,
            color=_VIEW_COLOURS[i % 3],
            label=view.title,
        )
        ax.bar_label(bars, [f"{r:.2f}" for r in ratios], fontsize=7)
    for j, m in enumerate(s.models):
        if m in TARGETS:
            ax.hlines(TARGETS[m], j - 0.45, j + 0.45, colors="black", linestyles="--", lw=1.4)
            ax.text(j, TARGETS[m] * 1.04, f"target {TARGETS[m]:g}x", ha="center", fontsize=8)
    ax.axhline(1, color="black", lw=0.8)
    ax.set_ylim(0, max(2.3, 1.15 * top))
    ax.set_xticks(x, [_title(m) for m in s.models], rotation=20, ha="right")
    ax.set_ylabel("fastest dense peer ms / pattern-mlir ms")
    ax.set_title("speedup over the fastest dense peer (> 1: pattern-mlir faster)")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)


def _times(ax, s: ModelSummary) -> None:
    view = s.view(1, "cpu") or s.view(1, "wall") or s.views[0]
    peers = ["pattern", *_dense_run(s)]
    x = np.arange(len(s.models))
    width = 0.8 / len(peers)
    for i, peer in enumerate(peers):
        ms = [s.points[(m, view)].ms.get(peer, np.nan) for m in s.models]
        bars = ax.bar(
            x + (i - (len(peers) - 1) / 2) * width,
            ms,
            width,
            color=_PEER_COLOURS[peer],
            label=_PEER_LABELS[peer],
        )
        ax.bar_label(bars, [f"{v:.0f}" for v in ms], fontsize=6)
    ax.set_yscale("log")
    ax.set_xticks(x, [_title(m) for m in s.models], rotation=20, ha="right")
    ax.set_ylabel("ms per inference (log)")
    ax.set_title(f"time per inference, {view.title}")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3, which="both")


def _compile(ax, s: ModelSummary) -> None:
    parts = {
        "import (torch-mlir, child process)": ("import",),
        "pattern stages": ("pattern", "packed", "vector"),
        "dense stage": ("dense",),
        "bufferize .. LLVM dialect": ("inlined", "buffers", "copies", "llvm"),
        "JIT code generation": ("codegen",),
    }
    colours = ["#c7c7c7", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
    x = np.arange(len(s.models))
    bottom = np.zeros(len(s.models))
    for (label, keys), colour in zip(parts.items(), colours, strict=True):
        vals = []
        for m in s.models:
            c = s.compile[m]["1"]
            st = {**c["stages"], "import": c["import_wall_s"]}
            vals.append(sum(st.get(k, 0) for k in keys))
        ax.bar(x, vals, 0.6, bottom=bottom, color=colour, label=label)
        bottom += np.array(vals)
    cpu = [s.compile[m]["1"]["cpu_s"] for m in s.models]
    ax.scatter(x, cpu, marker="_", s=400, color="black", zorder=3, label="CPU time (all of it)")
    if "vgg16" in s.models:
        j = s.models.index("vgg16")
        ax.hlines(TARGET_VGG_COMPILE_S, j - 0.4, j + 0.4, colors="red", linestyles="--", lw=1.5)
        ax.text(
            j + 0.42,
            TARGET_VGG_COMPILE_S,
            f"target {TARGET_VGG_COMPILE_S:g} s",
            color="red",
            fontsize=8,
            va="center",
        )
    ax.set_xticks(x, [_title(m) for m in s.models], rotation=20, ha="right")
    ax.set_ylabel("seconds (wall clock, 1-thread host compile)")
    ax.set_title("compile time: where it goes")
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(axis="y", alpha=0.3)


def plot(s: ModelSummary, path: str, meta: dict) -> None:
    fig, axes = plt.subplots(2, 2, figsize=(17, 11), constrained_layout=True)
    _speedups(axes[0][0], s)
    _times(axes[0][1], s)
    _compile(axes[1][0], s)
    load_panel(axes[1][1], s.loads, s.busy, _LOAD_TEXTS, marker=".", legend="upper right")
    st, dense = meta["settings"], " / ".join(_PEER_LABELS[p] for p in _dense_run(s))
    fig.suptitle(
        f"pattern-mlir whole models ({st['patterns']} patterns x connectivity "
        f"{st['connectivity']:g}) vs dense {dense}, fp32 batch 1 "
        f"- commit {meta['commit']}, {meta['date']}",
        fontsize=13,
    )
    fig.savefig(path, dpi=80)
    plt.close(fig)
