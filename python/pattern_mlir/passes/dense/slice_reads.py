"""Reads through a slice, moved onto the slice's source, before the generic path vectorises.

Upstream's linalg vectoriser turns a `tensor.extract` at computed indices (a gather: reflect
padding, flips, index_select) into a `vector.gather` whose offsets are linearised over the
read tensor's own shape. When that tensor is a `tensor.extract_slice`, bufferization makes it
a strided view of its source, and the linearised offsets then walk the source's rows with
the slice's row length: a reflect pad after a crop read each row's reflection from the row
before it; and a view with a stride other than 1 in its last dimension left a gather LLVM
could not lower at all. Reading the source at the slice's offsets and strides instead keeps
the linearisation right.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, tensor

from ..utils.constants import defining_op
from ..utils.conv_info import collect_ops

__all__ = ["read_slices_at_their_source"]


def _static(attr: ir.Attribute) -> list[int]:
    return [int(v) for v in ir.DenseI64ArrayAttr(attr)]


def _placement(slice_op: ir.Operation) -> tuple[list[int], list[int]] | None:
    """The slice's (offsets, strides), if they are static and it keeps the source's rank."""
    if len(slice_op.operands) != 1:  # dynamic offsets, sizes or strides
        return None
    source, result = slice_op.operands[0].type, slice_op.results[0].type
    if ir.RankedTensorType(source).rank != ir.RankedTensorType(result).rank:
        return None
    return (
        _static(slice_op.attributes["static_offsets"]),
        _static(slice_op.attributes["static_strides"]),
    )


def read_slices_at_their_source(module: ir.Operation) -> int:
    """Rewrites every `tensor.extract` in a linalg.generic body that reads a static slice;
    returns how many. A strided slice is a view upstream cannot gather from at all (its
    `vector.gather` had no LLVM lowering): read at its source, index i is offset + stride * i."""
    moved = 0
    for generic in collect_ops(module, "linalg.generic"):
        reads = [
            op.operation
            for op in generic.regions[0].blocks[0].operations
            if op.operation.name == "tensor.extract"
        ]
        for read in reads:
            source, total = read.operands[0], None
            while (slice_op := defining_op(source, "tensor.extract_slice")) is not None:
                placement = _placement(slice_op)
                if placement is None:
                    break
                if total is None:
                    total = placement
                else:  # a slice of a slice: outer index j is inner offset + stride * j
                    (outer_off, outer_st), (off, st) = total, placement
                    total = (
                        [o + s * a for o, s, a in zip(off, st, outer_off)],
                        [s * b for s, b in zip(st, outer_st)],
                    )
                source = slice_op.operands[0]
            if total is None:
                continue
            with ir.InsertionPoint(read), read.location:
                index = ir.IndexType.get()
                indices = []
                for i, off, stride in zip(read.operands[1:], *total):
                    if stride != 1:
                        i = arith.muli(i, arith.constant(index, stride))
                    indices.append(i if off == 0 else arith.addi(i, arith.constant(index, off)))
                value = tensor.extract(source, indices)
            read.results[0].replace_all_uses_with(value)
            read.erase()
            moved += 1
    return moved
