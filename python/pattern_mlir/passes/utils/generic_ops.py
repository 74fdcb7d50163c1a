"""Reading a linalg op's structure through the Python bindings: its indexing maps, loop
kinds and input count. One copy for every route-2 pass (the op defining a value is
constants.defining_op)."""

from __future__ import annotations

from mlir import ir

__all__ = ["indexing_maps", "input_count", "iterator_types"]


def indexing_maps(op: ir.Operation) -> list[ir.AffineMap]:
    return [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]


def iterator_types(op: ir.Operation) -> list[str]:
    """Each loop's kind: "parallel" or "reduction"."""
    return [
        str(a).split("<")[-1].rstrip(">") for a in ir.ArrayAttr(op.attributes["iterator_types"])
    ]


def input_count(op: ir.Operation) -> int:
    """How many of a linalg op's operands are inputs (the rest are its outputs)."""
    return ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"])[0]
