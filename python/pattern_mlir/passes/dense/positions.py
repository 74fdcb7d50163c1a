"""Positions read by a generic's `tensor.extract`, computed at compile time where they can be.

torch-mlir writes padding (reflect, replicate) and some resampling as a generic that reads
its input at positions taken from integer index tensors, one per dimension, through a chain
of index arithmetic (negative positions wrapped, casts). The vectorizer cannot see through a
table: every lane's position becomes a gather, even for a row copied whole. Here each
position that depends on at most one loop is evaluated over that loop (numpy, from the
constants and generics that build the tables) and written back as what it is:

* the same for every iteration: a constant;
* `a * i + b` of loop i: that arithmetic on `linalg.index`, which the vectorizer reads as a
  contiguous row (a = 1 along the row) or as one position per row;
* along the innermost loop, `clip((p * i + r) // q - k, low, high)` of loop i (nearest
  resampling by a rational factor, bicubic taps clamped to the row): that arithmetic, which
  vectorises to a gather at a fixed pattern of offsets per row (passes/dense/gather_shuffles.py
  makes it a read and a shuffle);
* anything else, of a loop other than the innermost: a load from a constant table at
  `linalg.index` of that loop, one scalar per row.

Any other position along the innermost loop (reflected columns) is a load from a constant
table at `linalg.index` where the row is one vector and the positions span at most
SPAN_PER_LANE of it (a padded row): the vectorizer reads the table as one constant vector
and passes/dense/gather_shuffles.py makes the gather a read and a shuffle. On longer rows
it is left as it was (`split_rows` cuts such a row into lines first). What cannot be
evaluated (positions from runtime data) is left too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mlir import ir
from mlir.dialects import arith

from ..utils.constants import defining_op
from ..utils.generic_ops import indexing_maps, input_count, iterator_types
from ..utils.numpy_arith import CMPI, FLOAT_BINARY, INT_BINARY
from .fuse import loop_sizes
from .gather_shuffles import SPAN_PER_LANE

__all__ = ["rewrite_positions"]

Table = tuple  # (loop or None, numpy array over that loop's range, or a 0-d array)


def _sizes(op: ir.Operation) -> list[int] | None:
    return loop_sizes(op, indexing_maps(op))


def _int_type(t: ir.Type) -> bool:
    return isinstance(t, (ir.IntegerType, ir.IndexType))


def _dtype(t: ir.Type):
    if isinstance(t, ir.IndexType):
        return np.int64
    if isinstance(t, ir.IntegerType):
        return {1: np.bool_, 8: np.int8, 16: np.int16, 32: np.int32, 64: np.int64}.get(t.width)
    return {"f32": np.float32, "f64": np.float64}.get(str(t))


def tensor_values(value: ir.Value, depth: int = 0) -> np.ndarray | None:
    """The elements of an integer tensor known at compile time: a constant, reshapes of one,
    or a one-dimensional generic computing them from `linalg.index` and such tensors."""
    op = defining_op(value)
    if op is None or depth > 8:
        return None
    shape = list(ir.RankedTensorType(value.type).shape)
    if op.name == "arith.constant":
        attr = op.attributes["value"]
        if not isinstance(attr, ir.DenseIntElementsAttr):
            return None
        attr = ir.DenseIntElementsAttr(attr)
        if attr.is_splat:
            return np.full(shape, ir.IntegerAttr(attr.get_splat_value()).value, dtype=np.int64)
        return np.array(attr).astype(np.int64).reshape(shape)
    if op.name == "tensor.extract_slice" and len(op.operands) == 1:  # static offsets and sizes
        source = tensor_values(op.operands[0], depth + 1)
        if source is None:
            return None
        offsets = ir.DenseI64ArrayAttr(op.attributes["static_offsets"])
        strides = ir.DenseI64ArrayAttr(op.attributes["static_strides"])
        sizes = ir.DenseI64ArrayAttr(op.attributes["static_sizes"])
        picked = source[tuple(slice(o, o + n * s, s) for o, n, s in zip(offsets, sizes, strides))]
        return picked.reshape(shape)
    if op.name in ("tensor.expand_shape", "tensor.collapse_shape"):
        source = tensor_values(op.operands[0], depth + 1)
        return None if source is None else source.reshape(shape)
    if op.name == "linalg.generic" and len(shape) == 1 and len(op.results) == 1:
        maps = indexing_maps(op)
        if any(it != "parallel" for it in iterator_types(op)):
            return None
        body = op.regions[0].blocks[0]
        tables = {}
        for k in range(input_count(op)):
            if maps[k] != ir.AffineMap.get_identity(1):
                return None
            source = tensor_values(op.operands[k], depth + 1)
            if source is None:
                return None
            tables[body.arguments[k]] = (0, source)
        yielded = list(body.operations)[-1].operands[0]
        result = _evaluate(yielded, body, [shape[0]], tables, {})
        if result is None:
            return None
        loop, array = result
        return np.broadcast_to(array, shape).astype(np.int64) if loop in (0, None) else None
    return None


def _argument_table(op: ir.Operation, k: int, sizes: list[int]) -> Table | None:
    """Input k of `op` as a function of at most one loop (its map reads one loop at most)."""
    m = indexing_maps(op)[k]
    loops = {e.position for e in m.results if isinstance(e, ir.AffineDimExpr)}
    if len(loops) > 1 or not all(
        isinstance(e, (ir.AffineDimExpr, ir.AffineConstantExpr)) for e in m.results
    ):
        return None
    values = tensor_values(op.operands[k])
    if values is None:
        return None
    loop = next(iter(loops), None)
    span = np.arange(sizes[loop]) if loop is not None else np.zeros(1, np.int64)
    index = tuple(
        span
        if isinstance(e, ir.AffineDimExpr)
        else np.full_like(span, ir.AffineConstantExpr(e).value)
        for e in m.results
    )
    picked = values[index]
    return (loop, picked) if loop is not None else (None, picked.reshape(()))


def _evaluate(
    value: ir.Value, body: ir.Block, sizes: list[int], tables: dict, cache: dict
) -> Table | None:
    """`value` (in `body`) as a function of at most one loop, or None."""
    if value in cache:
        return cache[value]
    result = _evaluate_uncached(value, body, sizes, tables, cache)
    cache[value] = result
    return result


def _evaluate_uncached(value, body, sizes, tables, cache) -> Table | None:
    if isinstance(value, ir.BlockArgument) or defining_op(value) is None:
        return tables.get(value)
    op = defining_op(value)
    if op.block != body:  # defined outside the generic: a constant, or unknown
        if op.name == "arith.constant" and _int_type(value.type):
            return None, np.array(ir.IntegerAttr(op.attributes["value"]).value, np.int64)
        if op.name == "arith.constant" and _dtype(value.type) is not None:
            return None, np.array(ir.FloatAttr(op.attributes["value"]).value, _dtype(value.type))
        return None
    name = op.name
    if name == "arith.constant":
        attr = op.attributes["value"]
        if isinstance(attr, ir.IntegerAttr):
            return None, np.array(ir.IntegerAttr(attr).value, np.int64)
        if isinstance(attr, ir.FloatAttr) and _dtype(value.type) is not None:
            return None, np.array(ir.FloatAttr(attr).value, _dtype(value.type))
        return None
    if name == "linalg.index":
        loop = ir.IntegerAttr(op.attributes["dim"]).value
        return loop, np.arange(sizes[loop], dtype=np.int64)
    operands = [_evaluate(v, body, sizes, tables, cache) for v in op.operands]
    if any(o is None for o in operands):
        return None
    loops = {loop for loop, _ in operands if loop is not None}
    if len(loops) > 1:
        return None
    loop = next(iter(loops), None)
    args = [a for _, a in operands]
    out = _dtype(op.results[0].type)
    if out is None:
        return None
    with np.errstate(all="ignore"):
        if name in INT_BINARY:
            array = INT_BINARY[name](args[0], args[1])
        elif name in FLOAT_BINARY:
            array = FLOAT_BINARY[name](args[0].astype(out), args[1].astype(out))
        elif name in (
            "arith.index_cast",
            "arith.extsi",
            "arith.trunci",
            "arith.sitofp",
            "arith.fptosi",
        ):
            array = args[0]
            if name == "arith.fptosi":
                array = np.trunc(array)
        elif name == "math.floor":
            array = np.floor(args[0])
        elif name == "arith.cmpi":
            predicate = ir.IntegerAttr(op.attributes["predicate"]).value
            if predicate not in CMPI:
                return None
            array = CMPI[predicate](args[0], args[1])
        elif name == "arith.select":
            array = np.where(args[0], args[1], args[2])
        else:
            return None
    return loop, np.asarray(array).astype(out)


def _line(values: np.ndarray) -> tuple[int, int] | None:
    """(a, b) with values == a * i + b, if there are such integers."""
    if values.ndim == 0:
        return 0, int(values)
    b = int(values[0])
    a = int(values[1] - values[0]) if len(values) > 1 else 0
    return (a, b) if np.array_equal(values, a * np.arange(len(values)) + b) else None


MAX_DIVISOR = 32  # largest q tried by `_clamped_steps`


@dataclass(frozen=True)
class _Steps:
    """values[i] == clip((p * i + r) // q - k, low, high), with p, r >= 0 and q >= 1."""

    p: int
    r: int
    q: int
    k: int
    low: int | None
    high: int | None

    def evaluate(self, n: int) -> np.ndarray:
        values = (self.p * np.arange(n, dtype=np.int64) + self.r) // self.q - self.k
        return np.clip(values, self.low, self.high)


def _clamped_steps(values: np.ndarray) -> _Steps | None:
    """The `_Steps` of a non-decreasing table, if there is one: nearest resampling by a
    rational factor (i // 2 for x2), or the taps of bicubic resampling (i // 2 + t, clamped
    to the row at both ends)."""
    n = len(values)
    if values.ndim != 1 or n < 3 or np.any(np.diff(values) < 0):
        return None
    low, high = int(values[0]), int(values[-1])
    inside = np.flatnonzero((values > low) & (values < high))
    # The unclamped run: the interior, widened by one index at each end.
    first = max(int(inside[0]) - 1, 0) if len(inside) else 0
    last = min(int(inside[-1]) + 1, n - 1) if len(inside) else n - 1
    if last - first < 2:
        return None
    rise, run = int(values[last] - values[first]), last - first
    for q in range(1, MAX_DIVISOR + 1):
        slope = round(rise * q / run)
        for p in range(max(slope - 1, 0), slope + 2):
            base = q * int(values[first]) - p * first
            for r in range(base, base + q):
                k = max(-(r // q), 0)  # (p i + r) // q as (p i + r + q k) // q - k: unsigned
                raw = _Steps(p, r + q * k, q, k, None, None).evaluate(n)
                if not np.array_equal(raw[first : last + 1], values[first : last + 1]):
                    continue
                below, above = raw.min() < low, raw.max() > high
                steps = _Steps(p, r + q * k, q, k, low if below else None, high if above else None)
                if np.array_equal(steps.evaluate(n), values):
                    return steps
    return None


def _index_constant(n: int) -> ir.Value:
    return arith.constant(ir.IndexType.get(), n)


def _position(
    loop: int | None,
    values: np.ndarray,
    innermost: int,
    before: ir.Operation,
    outside: ir.Operation,
    whole_row: int = 0,
) -> ir.Value | None:
    """IR for a position, inserted before `before` (a table constant before `outside`).

    `whole_row`: the longest innermost loop the vectorizer takes as one vector. On such a
    row a table along the row is read once, as a constant vector, and the gather it
    positions becomes one read and a shuffle (passes/dense/gather_shuffles.py)."""
    line = _line(values)
    index = ir.IndexType.get()
    with ir.InsertionPoint(before):
        if line is not None:
            a, b = line
            if loop is None or a == 0:
                return _index_constant(b)
            i = ir.Operation.create(
                "linalg.index",
                results=[index],
                attributes={"dim": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), loop)},
            ).result
            if a != 1:
                i = arith.muli(i, _index_constant(a))
            return arith.addi(i, _index_constant(b)) if b else i
        if loop == innermost:
            # Arithmetic on the index vectorises to a gather at computed positions; a table
            # along the row would be read lane by lane.
            steps = _clamped_steps(values)
            if steps is None:
                if not _shuffled_row(values, whole_row):
                    return None
                return _table_entry(values, loop, before, outside)
            i = ir.Operation.create(
                "linalg.index",
                results=[index],
                attributes={"dim": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), loop)},
            ).result
            if steps.p != 1:
                i = arith.muli(i, _index_constant(steps.p))
            if steps.r:
                i = arith.addi(i, _index_constant(steps.r))
            if steps.q != 1:
                i = arith.divui(i, _index_constant(steps.q))
            if steps.k:
                i = arith.subi(i, _index_constant(steps.k))
            if steps.low is not None:
                i = arith.maxsi(i, _index_constant(steps.low))
            if steps.high is not None:
                i = arith.minsi(i, _index_constant(steps.high))
            return i
    return _table_entry(values, loop, before, outside)


def _table_entry(
    values: np.ndarray, loop: int, before: ir.Operation, outside: ir.Operation
) -> ir.Value:
    """The entry of a constant table (made before `outside`) at `linalg.index` of `loop`."""
    index = ir.IndexType.get()
    i64 = ir.IntegerType.get_signless(64)
    table_type = ir.RankedTensorType.get([len(values)], i64)
    with ir.InsertionPoint(outside):
        table = arith.constant(
            table_type,
            ir.DenseElementsAttr.get(np.ascontiguousarray(values, np.int64), type=table_type),
        )
    with ir.InsertionPoint(before):
        i = ir.Operation.create(
            "linalg.index", results=[index], attributes={"dim": ir.IntegerAttr.get(i64, loop)}
        ).result
        entry = ir.Operation.create("tensor.extract", results=[i64], operands=[table, i]).result
        return arith.index_cast(index, entry)


def _shuffled_row(values: np.ndarray, whole_row: int) -> bool:
    """Whether positions along the innermost loop are read as one vector and a shuffle: the
    row is one vector, and the positions span at most SPAN_PER_LANE of its length (a padded
    row: its input row and a few columns more)."""
    n = len(values)
    return 1 < n <= whole_row and int(values.max()) - int(values.min()) < SPAN_PER_LANE * n


def _erase_unused(body: ir.Block) -> None:
    """Removes index arithmetic left without users (no op here has side effects)."""
    pure = ("arith.", "math.", "linalg.index")
    changed = True
    while changed:
        changed = False
        for op in reversed(list(body.operations)):
            op = op.operation
            if op.name.startswith(pure) and all(
                next(iter(r.uses), None) is None for r in op.results
            ):
                op.erase()
                changed = True


def rewrite_positions(op: ir.Operation, whole_row: int = 0) -> None:
    """Rewrites the positions of `op`'s `tensor.extract`s that depend on one loop at most;
    `whole_row` as for `_position`."""
    if op.name != "linalg.generic":
        return
    body = op.regions[0].blocks[0]
    extracts = [o.operation for o in body.operations if o.operation.name == "tensor.extract"]
    sizes = _sizes(op) if extracts else None
    if not sizes:
        return
    tables = {}
    for k in range(input_count(op)):
        if _int_type(ir.RankedTensorType(op.operands[k].type).element_type):
            table = _argument_table(op, k, sizes)
            if table is not None:
                tables[body.arguments[k]] = table
    cache: dict = {}
    changed = False
    with op.context, op.location:
        for extract in extracts:
            for j in range(1, len(extract.operands)):
                old = extract.operands[j]
                found = _evaluate(old, body, sizes, tables, cache)
                owner = defining_op(old)
                if (
                    found is None
                    or owner is not None
                    and owner.name in ("linalg.index", "arith.constant")
                ):
                    continue
                new = _position(found[0], found[1], len(sizes) - 1, extract, op, whole_row)
                if new is not None:
                    extract.operands[j] = new
                    changed = True
    if changed:
        _erase_unused(body)


MAX_PIECES = 5  # pieces of a row split so that each reads a line (see `split_rows`)


def _pieces(values: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs [lo, hi) of `values` that are lines, from the left."""
    pieces, lo = [], 0
    while lo < len(values):
        hi = min(lo + 2, len(values))
        while hi < len(values) and values[hi] - values[hi - 1] == values[lo + 1] - values[lo]:
            hi += 1
        pieces.append((lo, hi))
        lo = hi
    return pieces


def _row_positions(op: ir.Operation, sizes: list[int]) -> list[np.ndarray]:
    """The innermost-loop positions of `op`'s extracts that are no line."""
    body = op.regions[0].blocks[0]
    innermost = len(sizes) - 1
    tables = {}
    for k in range(input_count(op)):
        if _int_type(ir.RankedTensorType(op.operands[k].type).element_type):
            table = _argument_table(op, k, sizes)
            if table is not None:
                tables[body.arguments[k]] = table
    found, cache = [], {}
    for extract in (o.operation for o in body.operations if o.operation.name == "tensor.extract"):
        for position in list(extract.operands)[1:]:
            table = _evaluate(position, body, sizes, tables, cache)
            if table is not None and table[0] == innermost and _line(table[1]) is None:
                found.append(table[1])
    return found


def split_rows(op: ir.Operation, whole_row: int = 0) -> list[ir.Operation]:
    """Splits `op` along its innermost loop into pieces on which every position it reads is
    a line (reflect padding: the reflected columns at each end and the copied middle), each
    piece a generic writing its slice of the result; returns the pieces, or [op]. A row
    the vectorizer takes whole (`whole_row`, see `_position`) whose positions it reads as a
    shuffle stays one: one read, one shuffle and one write per row, where pieces are
    separate passes over the rows, each with its own loop."""
    if op.name != "linalg.generic" or len(op.results) != 1:
        return [op]
    maps = indexing_maps(op)
    sizes = _sizes(op)
    n_in = input_count(op)
    if (
        not sizes
        or len(op.operands) != n_in + 1
        or maps[-1] != ir.AffineMap.get_identity(len(sizes))
    ):
        return [op]
    if any(it != "parallel" for it in iterator_types(op)):
        return [op]
    rows = _row_positions(op, sizes)
    if not rows or all(_shuffled_row(values, whole_row) for values in rows):
        return [op]
    cuts = sorted({c for values in rows for piece in _pieces(values) for c in piece})
    bounds = list(zip(cuts[:-1], cuts[1:]))
    innermost = len(sizes) - 1
    # Operands read along the innermost loop are sliced with it: it must be a plain result.
    along = []
    for m in maps[:n_in]:
        at = [
            r
            for r, e in enumerate(m.results)
            if isinstance(e, ir.AffineDimExpr) and e.position == innermost
        ]
        if (
            any(not isinstance(e, (ir.AffineDimExpr, ir.AffineConstantExpr)) for e in m.results)
            or len(at) > 1
        ):
            return [op]
        along.append(at[0] if at else None)
    # Worth it where one piece is most of the row (the copied middle of a padded row), not
    # for positions that repeat (nearest upsampling: pieces of 2, gathers do better).
    if len(bounds) > MAX_PIECES or 2 * max(hi - lo for lo, hi in bounds) < sizes[innermost]:
        return [op]
    pieces = []
    with op.context, op.location, ir.InsertionPoint(op):
        result = op.operands[n_in]
        for lo, hi in bounds:
            operands = [
                _slice(v, r, lo, hi) if r is not None else v
                for v, r in zip(list(op.operands)[:n_in], along)
            ]
            # A slice of the tensor the piece is inserted into: bufferization then writes the
            # piece in place (a slice of the first init would be copied over).
            init = _slice(result, len(sizes) - 1, lo, hi)
            piece = _clone_generic(op, operands, init, innermost, lo)
            pieces.append(piece)
            result = _insert(piece.results[0], result, lo)
        op.results[0].replace_all_uses_with(result)
    op.erase()
    for piece in pieces:
        rewrite_positions(piece, whole_row)
    return pieces


def _slice_attrs(shape: list[int], dim: int, lo: int, hi: int) -> tuple[list[int], list[int]]:
    offsets = [0] * len(shape)
    offsets[dim] = lo
    sizes = list(shape)
    sizes[dim] = hi - lo
    return offsets, sizes


def _slice(value: ir.Value, dim: int, lo: int, hi: int) -> ir.Value:
    t = ir.RankedTensorType(value.type)
    offsets, sizes = _slice_attrs(list(t.shape), dim, lo, hi)
    result_type = ir.RankedTensorType.get(sizes, t.element_type)
    return ir.Operation.create(
        "tensor.extract_slice",
        results=[result_type],
        operands=[value],
        attributes={
            "static_offsets": ir.DenseI64ArrayAttr.get(offsets),
            "static_sizes": ir.DenseI64ArrayAttr.get(sizes),
            "static_strides": ir.DenseI64ArrayAttr.get([1] * len(sizes)),
            "operandSegmentSizes": ir.DenseI32ArrayAttr.get([1, 0, 0, 0]),
        },
    ).result


def _insert(piece: ir.Value, into: ir.Value, lo: int) -> ir.Value:
    shape = list(ir.RankedTensorType(piece.type).shape)
    offsets = [0] * len(shape)
    offsets[-1] = lo
    return ir.Operation.create(
        "tensor.insert_slice",
        results=[into.type],
        operands=[piece, into],
        attributes={
            "static_offsets": ir.DenseI64ArrayAttr.get(offsets),
            "static_sizes": ir.DenseI64ArrayAttr.get(shape),
            "static_strides": ir.DenseI64ArrayAttr.get([1] * len(shape)),
            "operandSegmentSizes": ir.DenseI32ArrayAttr.get([1, 1, 0, 0, 0]),
        },
    ).result


def _clone_generic(
    op: ir.Operation, inputs: list[ir.Value], init: ir.Value, innermost: int, lo: int
) -> ir.Operation:
    """`op` on sliced operands; its `linalg.index` of the innermost loop moved by `lo`."""
    piece = ir.Operation.create(
        "linalg.generic",
        results=[init.type],
        operands=[*inputs, init],
        attributes={
            "indexing_maps": op.attributes["indexing_maps"],
            "iterator_types": op.attributes["iterator_types"],
            "operandSegmentSizes": ir.DenseI32ArrayAttr.get([len(inputs), 1]),
        },
        regions=1,
    )
    old = op.regions[0].blocks[0]
    block = piece.regions[0].blocks.append(*[a.type for a in old.arguments])
    mapping = dict(zip(old.arguments, block.arguments))
    for inner in old.operations:
        inner = inner.operation
        clone = inner.clone(ip=ir.InsertionPoint(block))
        for i, operand in enumerate(clone.operands):
            if operand in mapping:
                clone.operands[i] = mapping[operand]
        if (
            inner.name == "linalg.index"
            and ir.IntegerAttr(inner.attributes["dim"]).value == innermost
            and lo
        ):
            with ir.InsertionPoint(block):
                moved = arith.addi(clone.results[0], _index_constant(lo))
            mapping[inner.results[0]] = moved
        else:
            for a, b in zip(inner.results, clone.results):
                mapping[a] = b
    return piece
