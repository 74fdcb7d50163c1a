"""Aligned numpy allocation for buffers that generated kernels read with vector loads.

numpy only guarantees 16-byte alignment for large arrays; the kernels want input rows on
64-byte cache lines (a measurable gain on the host: docs/design.md, section 10).
Over-allocate and offset.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_ALIGNMENT", "aligned_empty", "aligned_zeros", "is_aligned"]

DEFAULT_ALIGNMENT = 64


def aligned_empty(shape, dtype=np.float32, alignment: int = DEFAULT_ALIGNMENT) -> np.ndarray:
    """An uninitialised C-contiguous array whose data pointer is a multiple of ``alignment``."""
    if alignment < 1 or alignment & (alignment - 1):
        raise ValueError(f"alignment must be a power of two, got {alignment}")
    dtype = np.dtype(dtype)
    shape = tuple(int(s) for s in np.atleast_1d(shape)) if not isinstance(shape, tuple) else shape
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + alignment, dtype=np.uint8)
    start = (-raw.ctypes.data) % alignment
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def aligned_zeros(shape, dtype=np.float32, alignment: int = DEFAULT_ALIGNMENT) -> np.ndarray:
    """Like ``aligned_empty`` but zero-filled."""
    a = aligned_empty(shape, dtype, alignment)
    a.fill(0)
    return a


def is_aligned(a: np.ndarray, alignment: int = DEFAULT_ALIGNMENT) -> bool:
    return a.ctypes.data % alignment == 0
