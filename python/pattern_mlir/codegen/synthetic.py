"""Random pattern-pruned layers for tests and speed checks (no training data here).

Weights are random normal, projected the way pattern pruning would: each kernel takes the
library pattern that keeps the most of its L2 norm, then connectivity pruning keeps the
1/connectivity strongest kernels.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["random_layer", "random_library"]

_NON_CENTRE = [(r, c) for r in range(3) for c in range(3) if (r, c) != (1, 1)]


def random_library(
    num_patterns: int, rng: np.random.Generator, taps: int = 4, keep_centre: bool = True
) -> np.ndarray:
    """bool (P, 3, 3): distinct random masks of ``taps`` taps (centre kept, as in PatDNN)."""
    cells = _NON_CENTRE if keep_centre else _NON_CENTRE + [(1, 1)]
    free = taps - 1 if keep_centre else taps
    combos = list(itertools.combinations(range(len(cells)), free))
    if not 1 <= num_patterns <= len(combos):
        raise ValueError(
            f"can draw 1..{len(combos)} distinct {taps}-tap patterns, not {num_patterns}"
        )
    lib = np.zeros((num_patterns, 3, 3), dtype=bool)
    for p, ci in enumerate(rng.choice(len(combos), size=num_patterns, replace=False)):
        if keep_centre:
            lib[p, 1, 1] = True
        for j in combos[ci]:
            lib[p][cells[j]] = True
    return lib


def random_layer(
    out_channels: int,
    in_channels: int,
    library: np.ndarray,
    connectivity: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(projected weights float32 (O, I, 3, 3), assignment int32 (O, I)).

    ``connectivity`` >= 1 is the kernel reduction: round(O * I / connectivity) kernels stay.
    """
    if connectivity < 1:
        raise ValueError(f"connectivity must be >= 1, got {connectivity}")
    w = rng.standard_normal((out_channels, in_channels, 3, 3)).astype(np.float32)
    lib = np.asarray(library, dtype=bool)
    kept_energy = np.einsum("oikl,pkl->oip", w * w, lib.astype(np.float32))
    best = kept_energy.argmax(axis=2)
    energy = np.take_along_axis(kept_energy, best[..., None], axis=2)[..., 0]
    keep = max(0, round(out_channels * in_channels / connectivity))
    assignment = np.full((out_channels, in_channels), -1, dtype=np.int32)
    if keep:
        top = np.argsort(-energy, axis=None, kind="stable")[:keep]
        assignment.flat[top] = best.flat[top]
    mask = np.where((assignment >= 0)[..., None, None], lib[np.maximum(assignment, 0)], False)
    return np.where(mask, w, np.float32(0)), assignment
