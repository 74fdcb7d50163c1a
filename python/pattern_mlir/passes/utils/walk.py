"""Walks that leave out kernels already lowered to final vector code.

pattern-lower-to-vector emits each pattern conv as a kernel and an entry function: code on
memrefs and vectors only (scf, arith, vector, memref; no tensor, no linalg, no math op), often
thousands of ops per layer. The tensor-level passes after it (finding linalg ops to lower,
size checks, i1 tensor widening, math expansion) have nothing to do inside those functions,
yet walking them op by op from Python was most of those passes' time on a model of many
pattern convs. Such functions carry the unit attribute `pattern.lowered`; `walk_unlowered`
does not enter them.
"""

from __future__ import annotations

from collections.abc import Callable

from mlir import ir

__all__ = ["LOWERED", "mark_lowered", "walk_unlowered"]

LOWERED = "pattern.lowered"


def mark_lowered(function: ir.Operation) -> None:
    """Marks `function` as final vector code on memrefs (see the module docstring)."""
    function.attributes[LOWERED] = ir.UnitAttr.get()


def walk_unlowered(root, visit: Callable[[ir.Operation], ir.WalkResult]) -> None:
    """`root.walk(visit)` (post-order; `root`: Module, Operation or OpView), except that the
    ops inside (and the op of) a top-level function marked LOWERED are not visited."""
    op = root.operation
    if op.name != "builtin.module":
        op.walk(visit)
        return
    stopped = False

    def guarded(inner):
        nonlocal stopped
        result = visit(inner)
        stopped = stopped or result == ir.WalkResult.INTERRUPT
        return result

    for child in op.regions[0].blocks[0].operations:
        if LOWERED not in child.operation.attributes:
            child.operation.walk(guarded)
            if stopped:
                return
    visit(op)
