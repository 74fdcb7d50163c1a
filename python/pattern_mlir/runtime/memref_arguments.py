"""The arguments of a compiled entry point, built once per executable and reused per call.

A memref argument is a descriptor: allocated and aligned pointers, an offset, then the sizes
and strides. Shapes are static, so only the two pointers change from call to call. Building
the descriptors (and, for the JIT's packed calling convention, the array of pointers to every
descriptor field) anew on each call cost more than running a small model. A call takes a
block of descriptors from a free list and gives it back after: ctypes releases the GIL during
the call, so two threads may be inside at once, each with its own block.
"""

from __future__ import annotations

import ctypes

import numpy as np

from .call_signature import TensorSpec

__all__ = ["MemRefArguments"]


class _Block:
    """One call's descriptors, laid out back to back as int64 fields."""

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
        # Blocks no call is using. `take` and `release` use it; a caller that fills the
        # pointers itself (runtime/tensor_call.py) pops and appends here directly.
        self.free: list[_Block] = []
        # The field of each descriptor's allocated pointer; the aligned one follows it.
        self.slots: tuple[int, ...] = tuple(self._new_block().starts)

    def _new_block(self) -> _Block:
        return _Block(self._specs)

    def take(self, pointers) -> _Block:
        """A block no other call is using, pointing at the buffers at `pointers` (C-contiguous,
        of the specs' shapes and dtypes: the caller checks); `.packed` is the `void **` of the
        packed calling convention, `.descriptors` one pointer per descriptor (C interface).
        Give it back with `release` once the call has returned."""
        # list.pop and list.append are atomic under the GIL: no lock, no thread-local lookup.
        block = self.free.pop() if self.free else self._new_block()
        fields = block.fields
        for slot, pointer in zip(self.slots, pointers):
            fields[slot] = fields[slot + 1] = pointer
        return block

    def release(self, block: _Block) -> None:
        self.free.append(block)
