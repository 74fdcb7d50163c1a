"""Per-row computations of an elementwise generic as their own generic, before route 2.

A log-softmax's last pass computes x - max - log(sum) with log(sum) the same for a whole
row; a LayerNorm's computes rsqrt(variance + eps) per row likewise. Vectorised, such a
value is computed once per vector tile (lower_vectors sinks it to a scalar op before its
broadcast), a scalar log or rsqrt with a division in it three times for a row of 192:
more than the rest of the pass, and LLVM cannot move it out of the tile loop (its operand
is a load, the loop stores). Here each such value becomes a generic over the rows that
computes it for all rows at once, in vectors, and the pass reads it like the sum it came
from.

A body op is per row when everything it reads is an input indexed without the innermost
loop, a value from outside the generic, or another per-row op. Only where those inputs
share one indexing map and shape (the row's tensor), the generic is all parallel, and a
per-row value read by the rest of the body is computed with a math function or a
division (cheap ones are not worth a pass of their own).
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith

from ..utils.constants import defining_op, scalar_constant
from ..utils.generic_ops import indexing_maps, input_count, iterator_types

__all__ = ["divide_by_reciprocals", "hoist_row_values"]


def _reads_loop(m: ir.AffineMap, loop: int) -> bool:
    return any(isinstance(e, ir.AffineDimExpr) and e.position == loop for e in m.results)


def _row_inputs(op: ir.Operation) -> list[int] | None:
    """The inputs indexed without the innermost loop, if they share one map and shape."""
    maps = indexing_maps(op)
    innermost = maps[0].n_dims - 1
    rows = [k for k in range(input_count(op)) if not _reads_loop(maps[k], innermost)]
    rows = [k for k in rows if isinstance(op.operands[k].type, ir.RankedTensorType)]
    if not rows or any(
        maps[k] != maps[rows[0]] or op.operands[k].type != op.operands[rows[0]].type for k in rows
    ):
        return None
    return rows


def _per_row_ops(body: ir.Block, row_arguments: set) -> list[ir.Operation]:
    """The body ops (in order) that read only row arguments, outside values or each other."""
    inside = {op.operation for op in body.operations}
    found, values = [], set(row_arguments)

    def per_row(v: ir.Value) -> bool:
        if v in values:
            return True
        return not isinstance(v, ir.BlockArgument) and defining_op(v) not in inside

    for op in list(body.operations)[:-1]:
        op = op.operation
        if op.name == "linalg.index" or len(op.regions):
            continue
        if all(per_row(v) for v in op.operands):
            found.append(op)
            values.update(op.results)
    return found


def _expensive(op: ir.Operation) -> bool:
    return op.name.startswith("math.") or op.name in ("arith.divf", "arith.remf")


def _frontier(body: ir.Block, per_row: list[ir.Operation]) -> list[ir.Value]:
    """Per-row values read by the rest of the body (yield included)."""
    chosen = {op for op in per_row}
    found = []
    for op in per_row:
        for result in op.results:
            users = [u.owner for u in result.uses]
            if any(u.operation not in chosen for u in users) and result not in found:
                found.append(result)
    return found


def _needs(value: ir.Value, per_row: list[ir.Operation]) -> list[ir.Operation]:
    """The per-row ops `value` is computed from, in body order."""
    chosen = {op for op in per_row}
    wanted, stack = set(), [value]
    while stack:
        owner = defining_op(stack.pop())
        if owner is None or owner not in chosen or owner in wanted:
            continue
        wanted.add(owner)
        stack.extend(owner.operands)
    return [op for op in per_row if op in wanted]


def _row_generic(
    op: ir.Operation, rows: list[int], ops: list[ir.Operation], value: ir.Value
) -> ir.Value:
    """A generic over the row tensor computing `value` from the row inputs."""
    row_type = ir.RankedTensorType(op.operands[rows[0]].type)
    result_type = ir.RankedTensorType.get(list(row_type.shape), value.type)
    identity = ir.AffineMap.get_identity(row_type.rank)
    parallel = ir.Attribute.parse("#linalg.iterator_type<parallel>")
    init = ir.Operation.create(
        "tensor.empty", results=[result_type], operands=[], attributes={}
    ).result
    inputs = [op.operands[k] for k in rows]
    row = ir.Operation.create(
        "linalg.generic",
        results=[result_type],
        operands=[*inputs, init],
        attributes={
            "indexing_maps": ir.ArrayAttr.get([ir.AffineMapAttr.get(identity)] * (len(rows) + 1)),
            "iterator_types": ir.ArrayAttr.get([parallel] * row_type.rank),
            "operandSegmentSizes": ir.DenseI32ArrayAttr.get([len(rows), 1]),
        },
        regions=1,
    )
    block = row.regions[0].blocks.append(
        *[ir.RankedTensorType(v.type).element_type for v in inputs], value.type
    )
    old = op.regions[0].blocks[0]
    mapping = {old.arguments[k]: block.arguments[i] for i, k in enumerate(rows)}
    for inner in ops:
        clone = inner.clone(ip=ir.InsertionPoint(block))
        for i, operand in enumerate(clone.operands):
            if operand in mapping:
                clone.operands[i] = mapping[operand]
        mapping.update(zip(inner.results, clone.results))
    with ir.InsertionPoint(block):
        ir.Operation.create("linalg.yield", operands=[mapping[value]])
    return row.results[0]


def _with_inputs(op: ir.Operation, extra: list[ir.Value], extra_map: ir.AffineMap):
    """`op` with `extra` inputs appended (indexed by `extra_map`); returns the new op and
    its block arguments for them."""
    n_in = input_count(op)
    operands = list(op.operands)
    maps = indexing_maps(op)
    new = ir.Operation.create(
        "linalg.generic",
        results=[r.type for r in op.results],
        operands=[*operands[:n_in], *extra, *operands[n_in:]],
        attributes={
            "indexing_maps": ir.ArrayAttr.get(
                [
                    ir.AffineMapAttr.get(m)
                    for m in [*maps[:n_in], *[extra_map] * len(extra), *maps[n_in:]]
                ]
            ),
            "iterator_types": op.attributes["iterator_types"],
            "operandSegmentSizes": ir.DenseI32ArrayAttr.get(
                [n_in + len(extra), len(operands) - n_in]
            ),
        },
        regions=1,
    )
    old = op.regions[0].blocks[0]
    types = [a.type for a in old.arguments]
    element = [ir.RankedTensorType(v.type).element_type for v in extra]
    block = new.regions[0].blocks.append(*types[:n_in], *element, *types[n_in:])
    args = list(block.arguments)
    mapping = {a: args[i] for i, a in enumerate(list(old.arguments)[:n_in])}
    mapping.update(
        {a: args[n_in + len(extra) + i] for i, a in enumerate(list(old.arguments)[n_in:])}
    )
    return new, block, mapping, args[n_in : n_in + len(extra)]


def divide_by_reciprocals(op: ir.Operation) -> None:
    """Each division of an element by a value of its row (a softmax's x / sum) in `op` as a
    multiplication by the row's reciprocal, which `hoist_row_values` then computes once
    per row: a vector division costs several multiplications' throughput. torch's softmax
    multiplies by the reciprocal too; the result differs from the quotient by rounding.

    Run before producers are inlined into their readers: every reader of the quotients
    then computes them the same way. Rewritten in one reader only, a log-softmax over a
    dimension of one took its maximum of quotients and subtracted the products from it:
    1.5e-8 where torch has 0 (fuzz seed 6410)."""
    if op.name != "linalg.generic" or len(op.results) != 1:
        return
    _divide_by_constant_reciprocals(op.regions[0].blocks[0])
    rows = _row_inputs(op)
    if rows is None:
        return
    body = op.regions[0].blocks[0]
    row_arguments = {body.arguments[k] for k in rows}
    per_row = _per_row_ops(body, row_arguments)
    chosen = set(per_row)

    def from_rows(value: ir.Value) -> bool:
        if value in row_arguments:
            return True
        owner = defining_op(value)
        return owner in chosen and any(from_rows(v) for v in owner.operands)

    for inner in list(body.operations):
        inner = inner.operation
        if inner.name != "arith.divf" or inner.operation in chosen:
            continue
        divisor = inner.operands[1]
        if not isinstance(divisor.type, (ir.F32Type, ir.F64Type)) or not from_rows(divisor):
            continue
        with ir.InsertionPoint(inner), inner.location:
            reciprocal = arith.divf(arith.constant(divisor.type, 1.0), divisor)
        _multiply_instead(inner, reciprocal)


def _divide_by_constant_reciprocals(body: ir.Block) -> None:
    """x / c for an f32 constant c as x * (1 / c) (Hardsigmoid's relu6(x + 3) / 6), the
    reciprocal rounded once at compile time, as torch's Hardsigmoid kernel multiplies by
    one sixth: one division per vector was most of the op's time. Only where 1 / c is a
    normal f32 (no overflow, no subnormal whose product loses digits)."""
    for inner in list(body.operations):
        inner = inner.operation
        if inner.name != "arith.divf" or not isinstance(inner.results[0].type, ir.F32Type):
            continue
        c = scalar_constant(inner.operands[1])
        if c is None or c == 0 or not np.isfinite(c):
            continue
        reciprocal = np.float32(1.0) / np.float32(c)
        if not np.isfinite(reciprocal) or abs(reciprocal) < np.finfo(np.float32).tiny:
            continue
        with ir.InsertionPoint(inner), inner.location:
            factor = arith.constant(ir.F32Type.get(), float(reciprocal))
        _multiply_instead(inner, factor)


def _multiply_instead(division: ir.Operation, reciprocal: ir.Value) -> None:
    """Replaces `division` (x / d) by x * `reciprocal`."""
    with ir.InsertionPoint(division), division.location:
        product = arith.mulf(division.operands[0], reciprocal)
    division.results[0].replace_all_uses_with(product)
    division.erase()


def hoist_row_values(op: ir.Operation) -> tuple[ir.Operation, list[ir.Operation]]:
    """`op` reading its expensive per-row values from new row generics (returned too), or
    (`op`, [])."""
    if op.name != "linalg.generic" or len(op.results) != 1:
        return op, []
    iterators = iterator_types(op)
    if any(it != "parallel" for it in iterators) or len(iterators) < 2:
        return op, []
    rows = _row_inputs(op)
    if rows is None:
        return op, []
    body = op.regions[0].blocks[0]
    per_row = _per_row_ops(body, {body.arguments[k] for k in rows})
    values = [
        v
        for v in _frontier(body, per_row)
        if isinstance(v.type, (ir.F32Type, ir.F64Type))  # route 2 vectorises float results
        and any(_expensive(o) for o in _needs(v, per_row))
    ]
    if not values:
        return op, []
    row_map = indexing_maps(op)[rows[0]]
    with op.context, op.location, ir.InsertionPoint(op):
        hoisted = [_row_generic(op, rows, _needs(v, per_row), v) for v in values]
        new, block, mapping, extra_args = _with_inputs(op, hoisted, row_map)
    mapping.update(zip(values, extra_args))
    for inner in body.operations:
        inner = inner.operation
        if any(r in mapping for r in inner.results):
            continue  # a hoisted value: read from its row generic
        clone = inner.clone(ip=ir.InsertionPoint(block))
        for i, operand in enumerate(clone.operands):
            if operand in mapping:
                clone.operands[i] = mapping[operand]
        mapping.update(zip(inner.results, clone.results))
    _erase_unused(block)
    op.results[0].replace_all_uses_with(new.results[0])
    op.erase()
    return new, [defining_op(v) for v in hoisted]


def _erase_unused(block: ir.Block) -> None:
    """Removes the per-row ops left without users (all are side-effect free)."""
    changed = True
    while changed:
        changed = False
        for op in reversed(list(block.operations)[:-1]):
            op = op.operation
            if all(next(iter(r.uses), None) is None for r in op.results):
                op.erase()
                changed = True
