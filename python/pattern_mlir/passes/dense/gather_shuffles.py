"""Gathers at fixed offsets from one position, as one contiguous read and a shuffle.

Upstream's vectoriser turns a `tensor.extract` at computed positions into a `vector.gather`,
even when the positions of a vector's lanes are a constant pattern added to one position
per row: nearest upsampling (lanes 0, 0, 1, 1, ... from the row's start), a flipped row (n-1,
..., 0), a stride-2 read (0, 2, 4, ...). A gather loads lane by lane (AVX-512 and AVX2
gathers issue one load per lane; NEON has none, so LLVM scalarises it). When the pattern's
span (its largest offset minus its smallest, plus one) is at most SPAN_PER_LANE times the
lanes, the gather becomes a read of that span from the flat source and a `vector.shuffle`
with the pattern: every element of the span lies between two positions the gather reads, so
the read stays inside the source.

Which gathers qualify: an all-true mask, a source tensor that is no slice (a slice is a
strided view once bufferized, and its flat positions would be the source's), and a position
vector that is the sum of a compile-time vector (`vector.step`, constants and integer
arithmetic on them) and broadcasts of scalars, behind the `vector.insert`s or shape casts
that add leading unit dimensions.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith, tensor, vector

from ..utils.constants import defining_op
from ..utils.conv_info import collect_ops
from ..utils.numpy_arith import INT_BINARY

__all__ = ["gathers_as_shuffles"]

SPAN_PER_LANE = 2  # most elements read per lane of the result

# Integer arithmetic the position vectors use: the shared numpy twins, plus the unsigned
# division the step tables of passes/dense/positions.py emit.
_INT_OPS = {
    **INT_BINARY,
    "arith.divui": np.floor_divide,
    "arith.remui": np.remainder,
}


class _NotFixed(Exception):
    pass


def _constant_vector(op: ir.Operation, lanes: int) -> np.ndarray:
    attr = op.attributes["value"]
    if not isinstance(attr, ir.DenseIntElementsAttr):
        raise _NotFixed
    values = np.array([int(v) for v in attr], dtype=np.int64) if not attr.is_splat else None
    if values is None:
        return np.full(lanes, int(attr.get_splat_value().value), dtype=np.int64)
    return values.reshape(-1)


def _table_read(read: ir.Operation, lanes: int) -> np.ndarray:
    """The entries a 1-D in-bounds read takes from a constant table at a constant position
    (a padded row's columns, passes/dense/positions.py)."""
    table = defining_op(read.operands[0], "arith.constant")
    if table is None or len(read.operands) != 3 or ir.VectorType(read.results[0].type).rank != 1:
        raise _NotFixed
    attr = table.attributes["value"]
    if not isinstance(attr, ir.DenseIntElementsAttr):
        raise _NotFixed
    at = _constant_index(read.operands[1])
    values = _constant_vector(table, len(attr))
    if at < 0 or at + lanes > len(values):
        raise _NotFixed
    return values[at : at + lanes]


def _constant_index(value: ir.Value) -> int:
    """A constant index, or a lane of `vector.step` (the vectorizer's first position of
    an untiled row)."""
    op = defining_op(value)
    if op is not None and op.name == "arith.constant":
        return ir.IntegerAttr(op.attributes["value"]).value
    if op is not None and op.name == "vector.extract" and len(op.operands) == 1:
        step = defining_op(op.operands[0], "vector.step")
        at = list(ir.DenseI64ArrayAttr(op.attributes["static_position"]))
        if step is not None and len(at) == 1:
            return at[0]
    raise _NotFixed


def _unit_leading(value: ir.Value) -> ir.Value:
    """`value` without the leading unit dimensions added by inserts into poison or casts."""
    while True:
        op = defining_op(value)
        shape = list(ir.VectorType(value.type).shape)
        if op is None or len(shape) == 1 or shape[0] != 1:
            return value
        if op.name == "vector.insert" and len(op.operands) == 2:
            # Inserting at [0, ..., 0] of unit dimensions overwrites the whole destination.
            at = [int(p) for p in ir.DenseI64ArrayAttr(op.attributes["static_position"])]
            stored = op.operands[0].type
            if (
                at != [0] * len(at)
                or shape[: len(at)] != [1] * len(at)
                or not isinstance(stored, ir.VectorType)
                or list(ir.VectorType(stored).shape) != shape[len(at) :]
            ):
                return value
            value = op.operands[0]
        elif op.name in ("vector.shape_cast", "vector.broadcast") and isinstance(
            op.operands[0].type, ir.VectorType
        ):
            inner = list(ir.VectorType(op.operands[0].type).shape)
            if inner != [d for d in shape if d != 1] and inner != shape[1:]:
                return value
            value = op.operands[0]
        else:
            return value


def _split(value: ir.Value, lanes: int, depth: int = 0) -> tuple[np.ndarray, list[ir.Value]]:
    """(fixed lane offsets, scalars added to every lane) whose sum is the 1-D `value`."""
    op = defining_op(value)
    if op is None or depth > 16:
        raise _NotFixed
    if op.name == "vector.step":
        return np.arange(lanes, dtype=np.int64), []
    if op.name == "arith.constant":
        return _constant_vector(op, lanes), []
    if op.name == "vector.broadcast" and not isinstance(op.operands[0].type, ir.VectorType):
        return np.zeros(lanes, dtype=np.int64), [op.operands[0]]
    if op.name in ("arith.index_cast", "arith.index_castui", "arith.extsi", "arith.extui"):
        return _split(op.operands[0], lanes, depth + 1)
    if op.name == "vector.transfer_read":
        return _table_read(op, lanes), []
    if op.name in _INT_OPS:
        (a, sa), (b, sb) = (_split(v, lanes, depth + 1) for v in op.operands)
        if op.name == "arith.addi":
            return a + b, sa + sb
        if sa or sb:
            raise _NotFixed
        if op.name in ("arith.divui", "arith.remui", "arith.floordivsi") and (
            np.any(b <= 0) or np.any(a < 0)
        ):
            raise _NotFixed
        return _INT_OPS[op.name](a, b), []
    raise _NotFixed


def _over_a_slice(value: ir.Value) -> bool:
    """Whether `value` is a slice, or a reshape of one: a strided view once bufferized."""
    op = defining_op(value)
    while op is not None and op.name in ("tensor.expand_shape", "tensor.collapse_shape"):
        op = defining_op(op.operands[0])
    return op is not None and op.name == "tensor.extract_slice"


def _all_true(mask: ir.Value) -> bool:
    op = defining_op(mask, "arith.constant")
    if op is None:
        return False
    attr = op.attributes["value"]
    return (
        isinstance(attr, ir.DenseIntElementsAttr)
        and attr.is_splat
        and bool(attr.get_splat_value().value)
    )


def _flat_offset(indices: list[ir.Value], shape: list[int]) -> int | None:
    """The base indices of the gather as one flat offset, if they are constants."""
    offset = 0
    for index, size in zip(indices, shape):
        op = defining_op(index, "arith.constant")
        if op is None:
            return None
        offset = offset * size + ir.IntegerAttr(op.attributes["value"]).value
    return offset


def _rewrite(gather: ir.Operation) -> bool:
    source, rest = gather.operands[0], list(gather.operands[1:])
    source_type = ir.RankedTensorType(source.type)
    result_type = ir.VectorType(gather.results[0].type)
    rank = source_type.rank
    indices, positions, mask = rest[:rank], rest[rank], rest[rank + 1]
    shape = list(source_type.shape)
    lanes = result_type.shape[-1]
    if (
        not source_type.has_static_shape
        or rank == 0
        or not isinstance(result_type.element_type, ir.FloatType)
        or any(d != 1 for d in result_type.shape[:-1])
        or _over_a_slice(source)
        or not _all_true(mask)
    ):
        return False
    base = _flat_offset(indices, shape)
    if base is None:
        return False
    flat_positions = _unit_leading(positions)
    if ir.VectorType(flat_positions.type).rank != 1:
        return False
    try:
        offsets, scalars = _split(flat_positions, lanes)
    except _NotFixed:
        return False
    low = int(offsets.min())
    span = int(offsets.max()) - low + 1
    if span > SPAN_PER_LANE * lanes or np.array_equal(offsets - low, np.arange(lanes)):
        # A row read in order is a copy, which canonicalisation may fold into the tensor it
        # copies; two results of @forward can then be one buffer, and upstream's
        # buffer-results-to-out-params crashes on that (fuzz seed 494). A gather stays one.
        return False
    index = ir.IndexType.get()
    element = result_type.element_type
    if any(scalar.type != index for scalar in scalars):
        return False
    with ir.InsertionPoint(gather), gather.location:
        start = None if base + low == 0 and scalars else arith.constant(index, base + low)
        for scalar in scalars:
            start = scalar if start is None else arith.addi(start, scalar)
        size = int(np.prod(shape))
        flat = tensor.collapse_shape(
            ir.RankedTensorType.get([size], element), source, [list(range(rank))]
        )
        padding = arith.constant(element, 0.0)
        window = vector.transfer_read(
            ir.VectorType.get([span], element),
            flat,
            [start],
            ir.AffineMapAttr.get(ir.AffineMap.get_identity(1)),
            padding,
            in_bounds=[True],
        )
        picked = vector.shuffle(window, window, [int(o - low) for o in offsets])
        # Users that take the row back out of the unit dimensions read it directly.
        for use in list(gather.results[0].uses):
            user = use.owner
            if user.name == "vector.extract" and user.results[0].type == picked.type:
                user.results[0].replace_all_uses_with(picked)
                user.erase()
        if next(iter(gather.results[0].uses), None) is not None:
            # An identity shape_cast (a 1-D gather) crashes canonicalisation in this release.
            if picked.type != result_type:
                picked = vector.shape_cast(result_type, picked)
            gather.results[0].replace_all_uses_with(picked)
    gather.erase()
    _erase_unused(positions)
    return True


_POSITION_OPS = (
    "arith.constant",
    "ub.poison",
    "vector.step",
    "vector.broadcast",
    "vector.insert",
    "vector.shape_cast",
    "vector.transfer_read",  # of a table tensor: no side effect
    "arith.index_cast",
    "arith.index_castui",
    "arith.extsi",
    "arith.extui",
    *_INT_OPS,
)


def _erase_unused(value: ir.Value) -> None:
    """Erases the position arithmetic that only fed a rewritten gather: the ops of its
    expression, users before producers, each once it has no use left."""
    order: list[ir.Operation] = []

    def visit(v: ir.Value) -> None:
        op = defining_op(v)
        if op is None or op.name not in _POSITION_OPS or any(op == seen for seen in order):
            return
        for operand in op.operands:
            visit(operand)
        order.append(op)

    visit(value)
    for op in reversed(order):
        if all(next(iter(r.uses), None) is None for r in op.results):
            op.erase()


def gathers_as_shuffles(module: ir.Operation) -> int:
    """Rewrites every qualifying `vector.gather` on a tensor; returns how many. Runs after
    `lower_vectors`, whose canonicalisation leaves the positions as a sum of a fixed vector
    and broadcasts."""
    return sum(
        _rewrite(g)
        for g in collect_ops(module, "vector.gather")
        if isinstance(g.operands[0].type, ir.RankedTensorType)
    )
