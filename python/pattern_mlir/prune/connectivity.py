"""Connectivity pruning: remove whole (out, in) kernels, keeping ceil(n / ratio) per layer.

Removing a kernel deletes a connection between an input and an output channel; the compiler then
skips it entirely (assignment -1). Which kernels go is decided *after* pattern projection, on the
energy each kernel keeps under its best pattern: together the two steps are the exact Euclidean
projection onto "every kernel follows a pattern and at most k kernels are non-zero", because the
squared distance is the total energy minus the kept energy, and the kept energy is a sum over
kernels.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .library import best_patterns

__all__ = ["kept_count", "project_assignment"]


def kept_count(num_kernels: int, ratio: float) -> int:
    """How many of `num_kernels` kernels survive connectivity `ratio`: ceil(n / ratio), at least 1.

    Rounding up means a layer is never pruned harder than asked.
    """
    return max(1, math.ceil(num_kernels / ratio - 1e-9))


def project_assignment(weight: torch.Tensor, library: np.ndarray, ratio: float) -> torch.Tensor:
    """Assignment (O, I) int32 of the projection of `weight` onto the library x connectivity set.

    Each kernel gets its best pattern; then only the kept_count(O*I, ratio) kernels keeping the
    largest energy stay; the rest get -1. A kept kernel whose pattern keeps zero energy is all zero
    after projection, so it is marked -1 too (removing it is free). Ties: lower flat index wins.
    """
    ids, kept = best_patterns(weight, library)
    flat = kept.reshape(-1)
    keep = kept_count(flat.numel(), ratio)
    order = torch.sort(flat, descending=True, stable=True).indices
    alive = torch.zeros_like(flat, dtype=torch.bool)
    alive[order[:keep]] = True
    alive &= flat > 0
    out = torch.where(alive.reshape(ids.shape), ids, torch.full_like(ids, -1))
    return out.to(torch.int32)
