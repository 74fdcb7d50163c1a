"""The arguments of a compiled entry point, built once per executable and reused per call.

A memref argument is a descriptor: allocated and aligned pointers, an offset, then the sizes
and strides. Shapes are static, so only the two pointers change from call to call. Building
the descriptors (and, for the JIT's packed calling convention, the array of pointers to every
descriptor field) anew on each call cost more than running a small model. Each thread gets its
own block: ctypes releases the GIL during the call, so two threads may be inside at once.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from .call_signature import TensorSpec

__all__ = ["MemRefArguments"]


class _Block:
    """One thread's descriptors, laid out back to back as int64 fields."""

    def __init__(self, specs: list[TensorSpec]):
        values: list[int] = []
        self.starts: list[int] = []
        for spec in specs:
            self.starts.append(len(values))
            strides = [
                int(np.prod(spec.shape[i + 1 :], dtype=np.int64)) for i in range(len(spec.shape))
            ]
            values += [0, 0, 0, *spec.shape, *strides]
        self.fields = (ctypes.c_int64 * max(len(values), 1))(*values)
        base = ctypes.addressof(self.fields)
        # Packed convention (ExecutionEngine's `_mlir_<name>`): one pointer per field.
        self.packed = (ctypes.c_void_p * max(len(values), 1))(
            *(base + 8 * i for i in range(len(values)))
        )
        # C interface (`_mlir_ciface_<name>`): one pointer per descriptor.
        self.descriptors = [ctypes.c_void_p(base + 8 * start) for start in self.starts]


class MemRefArguments:
    """Descriptors of C-contiguous arrays of fixed `specs`, filled in per call."""

    def __init__(self, specs: list[TensorSpec]):
        self._specs = list(specs)
        self._local = threading.local()

    def at(self, pointers: list[int]) -> _Block:
        """This thread's descriptors, pointing at the buffers at `pointers` (C-contiguous, of
        the specs' shapes and dtypes: the caller checks); `.packed` is the `void **` of the
        packed calling convention, `.descriptors` one pointer per descriptor (C interface)."""
        block = getattr(self._local, "block", None)
        if block is None:
            block = self._local.block = _Block(self._specs)
        fields = block.fields
        for start, pointer in zip(block.starts, pointers):
            fields[start] = pointer
            fields[start + 1] = pointer
        return block

    def packed(self, arrays: list[np.ndarray]) -> ctypes.Array:
        """The `void **` of the packed calling convention, pointing at `arrays`."""
        return self.at([a.ctypes.data for a in arrays]).packed

    def descriptors(self, arrays: list[np.ndarray]) -> list[ctypes.c_void_p]:
        """A pointer to each array's descriptor, for `_mlir_ciface_*` functions."""
        return self.at([a.ctypes.data for a in arrays]).descriptors
