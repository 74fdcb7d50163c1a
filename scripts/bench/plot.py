"""Plot panels both reports draw: how busy the shared machine was while the run went on.

The reader needs it to judge the noise of the figures beside it. Imported only when a plot is
drawn (it loads matplotlib).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np

__all__ = ["load_panel"]


def load_panel(
    ax,
    loads: list[float],
    busy: list[float],
    texts: dict[str, str],
    marker=None,
    legend: str = "upper left",
) -> None:
    """Load average and busy cores before each step; ``texts``: load, busy, xlabel, title."""
    x = np.arange(1, len(loads) + 1)
    ax.plot(x, loads, color="#d62728", marker=marker, label=texts["load"])
    if busy:
        ax.plot(x, busy, color="#1f77b4", marker=marker, label=texts["busy"])
    ax.axhline(2, color="black", lw=0.8, ls=":", label="cores of this machine")
    ax.set_ylim(bottom=0)
    ax.set_xlabel(texts["xlabel"])
    ax.set_title(texts["title"])
    ax.legend(fontsize=8, loc=legend)
    ax.grid(alpha=0.3)
