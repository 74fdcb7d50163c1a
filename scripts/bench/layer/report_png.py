"""docs/bench_layers.png: six panels that answer "is it faster, and how close to the limit".

Top: speedup of pattern-mlir over each dense peer per layer in every view (1 thread wall clock,
1 thread CPU time, 2 threads wall clock), with the target lines (2x for VGG, 1.5x for ResNet,
over MNN). Bottom: useful GFLOP/s against the measured peaks, llvm-mca's share of the arm64 FMA
bound per VGG layer, and how busy the shared machine was, so the reader can judge the noise.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ..peer_facts import COLOURS as _COLOURS
from ..plot import load_panel
from . import targets
from .layers import LAYERS
from .summary import DENSE_PEERS, Summary, View

__all__ = ["plot"]

_LABELS = {
    "torch": "vs torch",
    "ort": "vs ONNX Runtime",
    "mnn": "vs MNN (Winograd)",
    "iree": "vs IREE",
}


_LOAD_TEXTS = {
    "load": "1-min load average",
    "busy": "cores busy just before the round",
    "xlabel": "layer round (in run order)",
    "title": "how busy the shared machine was",
}


def _short(name: str) -> str:
    return name.replace("vgg_", "").replace("r50_3x3_", "r50 ")


def _speedups(ax, s: Summary, view: View) -> None:
    names = s.layers()
    x = np.arange(len(names))
    peers = [p for p in DENSE_PEERS if p in s.points[(names[0], view)].ms]
    width = 0.8 / len(peers)
    for i, peer in enumerate(peers):
        ratios = [s.points[(n, view)].ratio(peer) for n in names]
        ax.bar(
            x + (i - (len(peers) - 1) / 2) * width,
            ratios,
            width,
            color=_COLOURS[peer],
            label=_LABELS[peer],
        )
    ax.axhline(1, color="black", lw=0.8)
    ax.set_yscale("log")
    ax.set_ylim(0.5, 1.3 * max(s.points[(n, view)].ratio(p) for n in names for p in peers))
    ticks = [0.5, 1, 1.5, 2, 3, 5, 10, 20]
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    vgg = [i for i, n in enumerate(names) if LAYERS[n].net == "VGG-16"]
    res = [i for i, n in enumerate(names) if LAYERS[n].net == "ResNet-50"]
    for idx, target in ((vgg, targets.VGG_OVER_MNN), (res, targets.RESNET_OVER_MNN)):
        if idx:
            ax.hlines(
                target,
                min(idx) - 0.45,
                max(idx) + 0.45,
                colors=_COLOURS["mnn"],
                linestyles="--",
                lw=1.2,
            )
            ax.text(
                min(idx) - 0.45,
                target * 1.03,
                f"target {target:g}x over MNN",
                va="bottom",
                fontsize=8,
                color=_COLOURS["mnn"],
                bbox={"facecolor": "white", "alpha": 0.85, "linewidth": 0, "pad": 1},
                zorder=5,
            )
    ax.set_xticks(x, [_short(n) for n in names], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("speedup of pattern-mlir (x)")
    ax.set_title(f"{view.title}: speedup over dense peers")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(axis="y", alpha=0.3)


def _efficiency(ax, s: Summary) -> None:
    names = s.layers()
    x = np.arange(len(names))
    width = 0.8 / len(s.views)
    colours = ["#2ca02c", "#17becf", "#98df8a"]
    for i, view in enumerate(s.views):
        g = [s.points[(n, view)].useful_gflops for n in names]
        offset = (i - (len(s.views) - 1) / 2) * width
        ax.bar(x + offset, g, width, color=colours[i % 3], label=view.title)
    if 1 in s.fma_peak:
        peak = s.fma_peak[1]
        ax.axhline(peak, color="black", lw=1, label=f"FMA peak 1 core ({peak:.0f})")
        ax.axhline(
            targets.VGG_PEAK * peak,
            color="black",
            ls="--",
            lw=1,
            label=f"{targets.VGG_PEAK:.0%} of it (VGG target)",
        )
    best, where = max(s.best_dense[v] for v in s.views if v.threads == 1)
    ax.axhline(
        best,
        color=_COLOURS["torch"],
        ls=":",
        lw=1.2,
        label=f"best dense conv 1 core ({best:.0f}, {where.split()[0]})",
    )
    ax.set_xticks(x, [_short(n) for n in names], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("GFLOP/s (2 x kept MACs / time)")
    ax.set_title("pattern-mlir useful GFLOP/s against this machine's peaks")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(axis="y", alpha=0.3)


def _mca(ax, s: Summary) -> None:
    names = list(s.mca)
    x = np.arange(len(names))
    for i, (cpu, colour) in enumerate((("neoverse-n1", "#9467bd"), ("cortex-a76", "#c5b0d5"))):
        frac = [100 * s.mca[n]["reports"][cpu]["fraction_of_bound"] for n in names]
        ax.bar(x + (i - 0.5) * 0.4, frac, 0.4, color=colour, label=f"llvm-mca {cpu}")
    ax.axhline(
        100 * targets.ARM64_BOUND,
        color="black",
        ls="--",
        lw=1,
        label=f"target {targets.ARM64_BOUND:.0%}",
    )
    ax.set_ylim(0, 100)
    ax.set_xticks(x, [_short(n) for n in names], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("% of the FMA bound")
    ax.set_title("arm64 (cortex-a76 code): hot inner loop vs FMA bound")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)


def plot(s: Summary, path: str) -> None:
    fig, axes = plt.subplots(2, 3, figsize=(22, 11), constrained_layout=True)
    for ax, view in zip(axes[0], s.views[:3], strict=False):
        _speedups(ax, s, view)
    for ax in axes[0][len(s.views) :]:
        ax.axis("off")
    _efficiency(axes[1][0], s)
    if s.mca:
        _mca(axes[1][1], s)
    else:
        axes[1][1].axis("off")
    load_panel(axes[1][2], s.loads, s.busy, _LOAD_TEXTS)
    fig.suptitle(
        "pattern-mlir pattern conv (8 patterns x connectivity 3.6) vs dense conv, "
        "VGG-16 and ResNet-50 3x3 layers, fp32 batch 1",
        fontsize=14,
    )
    fig.savefig(path, dpi=90)
    plt.close(fig)
