"""Erasing the ops that only fed a value a pass has just replaced."""

from __future__ import annotations

from mlir import ir

from .constants import defining_op

# Ops with no effect but their result: a rewrite that stops using one leaves it dead.
_PURE_PRODUCERS = (
    "linalg.fill",
    "linalg.broadcast",
    "tensor.empty",
    "tensor.expand_shape",
    "tensor.pad",
    "arith.constant",
)


def erase_unused_producers(value: ir.Value) -> None:
    """Erase the op defining `value` if nothing uses it any more, then its operands' producers
    that became unused in turn (a fill and its empty tensor, a broadcast of a constant bias)."""
    op = defining_op(value)
    if op is None or op.name not in _PURE_PRODUCERS or any(True for _ in op.results[0].uses):
        return
    operands = list(op.operands)
    op.erase()
    for operand in operands:
        erase_unused_producers(operand)
