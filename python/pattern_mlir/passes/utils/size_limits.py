"""Refusals of tensors too large to compile for, before any pass builds code for them.

A shape that no target can hold (a mutated test input, an overflowed size) must become a
diagnostic that names the op, not an allocation of terabytes while reading a constant, an
integer attribute that does not fit 64 bits, or an abort inside upstream MLIR (whose
SmallVector sizes are 32-bit).
"""

from __future__ import annotations

import math

from mlir import ir

from ..registry import PassError
from .walk import walk_unlowered

__all__ = ["CPU_MAX_ELEMENTS", "GPU_MAX_ELEMENTS", "MAX_CONSTANT_ELEMENTS", "check_tensor_sizes"]

#: A constant read into numpy at compile time (weights to pack): 1 GiB of f32.
MAX_CONSTANT_ELEMENTS = 1 << 28
#: Any one tensor on a CPU target: 64 GiB of f32, beyond the memory of the machines targeted.
CPU_MAX_ELEMENTS = 1 << 34
#: Any one tensor on the GPU: its kernels index in 32 bits (the Adreno profile has no Int64).
GPU_MAX_ELEMENTS = (1 << 31) - 1


def _elements(type_: ir.Type) -> int | None:
    """The element count of a statically shaped tensor or memref type, else None."""
    if not isinstance(type_, ir.RankedTensorType | ir.MemRefType):
        return None
    if not type_.has_static_shape:
        return None
    return math.prod(type_.shape)


def check_tensor_sizes(module, limit: int, pass_name: str, why: str) -> None:
    """Raises PassError (a diagnostic) at the first op with an operand or result of more than
    `limit` elements; `why` says what the limit protects. `module`: Module, Operation or OpView."""
    found: list[tuple[ir.Operation, ir.Type, int]] = []

    def visit(op):
        op = op.operation if isinstance(op, ir.OpView) else op
        for value in (*op.operands, *op.results):
            count = _elements(value.type)
            if count is not None and count > limit:
                found.append((op, value.type, count))
                return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    walk_unlowered(module, visit)
    if found:
        op, type_, count = found[0]
        raise PassError(
            op, f"has a {type_} of {count} elements, more than {pass_name} allows: {limit} ({why})"
        )
