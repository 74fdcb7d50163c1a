"""Keep freed intermediate buffers in the process heap so the next call reuses them.

Generated code allocates each intermediate tensor with malloc and frees it at the end of
the call. glibc serves allocations above its mmap threshold (128 KiB to 32 MiB, adaptive)
with fresh mmaps and returns them on free, so every call page-faults and zero-fills its
whole working set again: on WDSR-B super resolution, with megabytes of intermediates per
block, that was about half of the run time (measured: docs/design.md, section 10).
Raising the mmap and trim thresholds keeps those pages in the heap across calls, the way
inference runtimes keep an arena; the cost is that the process keeps its peak working set.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools

import numpy as np

__all__ = ["keep_freed_buffers", "small_pages"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc caps only its adaptive mmap threshold (at 32 MiB on 64-bit); an explicit mallopt
# takes any int. Allocations above 1 GiB still get their own mmap.
_MMAP_THRESHOLD = 1 << 30
_TRIM_THRESHOLD = (1 << 31) - 1


@functools.cache
def keep_freed_buffers() -> bool:
    """Raises glibc's mmap and trim thresholds once per process; False where libc has no
    mallopt (not glibc), in which case nothing changes."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )


@contextlib.contextmanager
def small_pages():
    """numpy's large arrays without its transparent-huge-page hint, for the compiler's temporaries.

    numpy asks for huge pages for arrays over 4 MiB; where the kernel serves that hint with
    direct compaction (defrag=madvise, as here), the first touch costs several times what it
    costs in 4 KiB pages (measured: docs/design.md, section 10): seconds of VGG-16's compile
    for arrays that live for one pass.
    What the compiled code reads at run time is not among them: the weights it reads are
    MLIR's copies (attribute storage), and its buffers are allocated by the code itself.
    """
    core = getattr(np, "_core", None) or np.core  # numpy 2 renamed it; np.core warns there
    toggle = getattr(core.multiarray, "_set_madvise_hugepage", None)
    previous = toggle(False) if toggle else None
    try:
        yield
    finally:
        if toggle:
            toggle(previous)
