"""Pattern libraries for 3x3 kernels (PatDNN).

A *pattern* is a 3x3 0/1 mask. PatDNN's candidates keep 4 taps: the centre plus 3 of the other
8 positions, so there are C(8, 3) = 56 of them. A *library* is an ordered set of K such masks; every
kept kernel of a pruned layer uses exactly one of them, which is what lets the compiler emit one
specialised loop per pattern. The library is picked by frequency: each kernel of a trained model
votes for the candidate that keeps most of its energy (largest L2 norm), and the K candidates with
most votes win. Energies are computed with one matrix product, so the choice is exact, not greedy.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np
import torch

__all__ = [
    "NUM_CANDIDATES",
    "best_patterns",
    "candidate_patterns",
    "pattern_votes",
    "select_library",
    "validate_library",
]

_CENTRE = 4  # row-major index of the centre tap of a 3x3 kernel
NUM_CANDIDATES = 56


def candidate_patterns() -> np.ndarray:
    """The 56 PatDNN candidates as a (56, 3, 3) bool array, in a fixed (lexicographic) order.

    The order is part of the contract: ids in vote counts and tie-breaks refer to it.
    """
    others = [i for i in range(9) if i != _CENTRE]
    masks = np.zeros((NUM_CANDIDATES, 9), dtype=bool)
    for k, taps in enumerate(itertools.combinations(others, 3)):
        masks[k, [_CENTRE, *taps]] = True
    return masks.reshape(NUM_CANDIDATES, 3, 3)


def validate_library(
    library: np.ndarray | torch.Tensor | Iterable, name: str = "library"
) -> np.ndarray:
    """Return `library` as a (P, 3, 3) bool array, or raise ValueError saying what is wrong.

    Any masks are accepted (not only the 56 candidates) as long as they are distinct, non-empty and
    all keep the same number of taps: the compiler's packed format assumes equal kernel lengths.
    """
    if isinstance(library, torch.Tensor):
        library = library.detach().cpu().numpy()
    arr = np.asarray(library)
    if arr.ndim != 3 or arr.shape[1:] != (3, 3) or arr.shape[0] < 1:
        raise ValueError(f"{name} must have shape (P, 3, 3) with P >= 1, got {arr.shape}")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{name} must contain only 0/1 values")
    masks = arr.astype(bool)
    taps = masks.reshape(len(masks), 9).sum(axis=1)
    if np.any(taps == 0):
        raise ValueError(f"{name}: pattern {int(np.argmin(taps))} keeps no tap")
    if np.any(taps != taps[0]):
        raise ValueError(
            f"{name}: all patterns must keep the same number of taps, got {taps.tolist()}"
        )
    flat = [m.tobytes() for m in masks]
    if len(set(flat)) != len(flat):
        dup = next(i for i, f in enumerate(flat) if flat.index(f) != i)
        raise ValueError(f"{name}: pattern {dup} is a duplicate of pattern {flat.index(flat[dup])}")
    return masks


def best_patterns(
    weight: torch.Tensor, library: np.ndarray | torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each kernel of an (O, I, 3, 3) weight, the library pattern keeping the largest L2 norm.

    Returns (ids, kept_energy): ids is (O, I) int64, kept_energy the squared norm that the chosen
    pattern keeps. Ties go to the lowest pattern id, so the result is deterministic.
    """
    lib = torch.as_tensor(
        np.asarray(library, dtype=bool).reshape(-1, 9), dtype=weight.dtype, device=weight.device
    )
    energy = (
        weight.detach().reshape(weight.shape[0], weight.shape[1], 9).square() @ lib.T
    )  # (O, I, P)
    kept, ids = energy.max(dim=-1)  # max returns the first maximal index
    return ids, kept


def pattern_votes(weights: Iterable[torch.Tensor]) -> np.ndarray:
    """How many kernels (over all `weights`) vote for each of the 56 candidates.

    All-zero kernels carry no information and do not vote.
    """
    cands = candidate_patterns()
    votes = np.zeros(NUM_CANDIDATES, dtype=np.int64)
    for w in weights:
        ids, kept = best_patterns(w, cands)
        ids = ids[kept > 0]
        votes += np.bincount(ids.cpu().numpy().ravel(), minlength=NUM_CANDIDATES)
    return votes


def select_library(weights: Iterable[torch.Tensor], num_patterns: int = 8) -> np.ndarray:
    """The `num_patterns` most voted candidates, most frequent first (ties: candidate order)."""
    check_num_patterns(num_patterns)
    votes = pattern_votes(weights)
    order = sorted(range(NUM_CANDIDATES), key=lambda k: (-votes[k], k))
    return candidate_patterns()[order[:num_patterns]]


def check_num_patterns(num_patterns: int) -> None:
    """Raise ValueError unless 1 <= num_patterns <= 56 (an integer)."""
    if isinstance(num_patterns, bool) or not isinstance(num_patterns, (int, np.integer)):
        # ValueError, not TypeError: callers catch one error type for every bad argument.
        msg = f"num_patterns must be an integer in 1..{NUM_CANDIDATES}, got {num_patterns!r}"
        raise ValueError(msg)  # noqa: TRY004
    if not 1 <= num_patterns <= NUM_CANDIDATES:
        raise ValueError(f"num_patterns must be in 1..{NUM_CANDIDATES}, got {num_patterns}")
