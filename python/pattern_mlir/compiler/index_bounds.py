"""Checks on integer inputs that index a table, moved from the generated code to the runtime.

torch-mlir lowers a lookup at runtime positions to a generic that reads the table with
`tensor.extract` at those positions. For nn.Embedding it first asserts each position is in
range (`cf.assert (id < 50)`, `cf.assert (id >= 0)`), and in generated code a failed
`cf.assert` aborts the process; for index_select and indexing (`table[ids]`, negative ids
wrapped by a select) it checks nothing, and an id out of range reads outside the table.
torch raises an IndexError for both. Here, where a position is an input of @forward read
whole by the generic (through casts), the range it must lie in goes into that input's
`TensorSpec.bounds` and the runtime checks it before the call (runtime/executable.py):
[0, size) for a plain position, [-size, size) for one wrapped; a covered assert is erased.
Asserts on anything else stay.
"""

from __future__ import annotations

from mlir import ir

from ..passes.utils.constants import defining_op
from ..passes.utils.conv_info import collect_ops
from ..passes.utils.generic_ops import indexing_maps, input_count

__all__ = ["take_index_bounds"]

Bounds = tuple[int | None, int | None]  # [low, high); None: no bound on that side

# arith.cmpi predicates, and the one that holds with the operands swapped.
_SLT, _SLE, _SGT, _SGE, _ULT, _ULE, _UGT, _UGE = 2, 3, 4, 5, 6, 7, 8, 9
_SWAPPED = {_SLT: _SGT, _SLE: _SGE, _SGT: _SLT, _SGE: _SLE, _ULT: _UGT, _ULE: _UGE}
_CASTS = ("arith.index_cast", "arith.extsi")


def _constant(value: ir.Value) -> int | None:
    op = defining_op(value, "arith.constant")
    if op is None or not isinstance(op.attributes["value"], ir.IntegerAttr):
        return None
    return ir.IntegerAttr(op.attributes["value"]).value


def _uncast(value: ir.Value) -> ir.Value:
    while (op := defining_op(value)) is not None and op.name in _CASTS:
        value = op.operands[0]
    return value


def _stated(predicate: int, c: int) -> Bounds | None:
    """The [low, high) that `x <predicate> c` states about x."""
    return {
        _SLT: (None, c),
        _SLE: (None, c + 1),
        _SGT: (c + 1, None),
        _SGE: (c, None),
        _ULT: (0, c) if c > 0 else None,
        _ULE: (0, c + 1) if c >= 0 else None,
    }.get(predicate)


def _whole_input(generic: ir.Operation, k: int, entry: ir.Block) -> int | None:
    """The @forward argument that operand k of `generic` is, if every element of it is read."""
    value = generic.operands[k]
    while (op := defining_op(value)) is not None and op.name in (
        "tensor.expand_shape",
        "tensor.collapse_shape",
    ):
        value = op.operands[0]
    if not isinstance(value, ir.BlockArgument) or value.owner != entry:
        return None
    m = indexing_maps(generic)[k]
    dims = [e.position for e in m.results if isinstance(e, ir.AffineDimExpr)]
    if len(dims) != len(m.results) or len(set(dims)) != len(dims):
        return None  # a broadcast or constant index reads only part of the input
    return value.arg_number


def _read_range(position: ir.Value, size: int) -> tuple[ir.Value, Bounds]:
    """(the value `position` is computed from, the range that value must lie in) for a
    position of a dimension of `size`: the value itself in [0, size), or a negative value
    wrapped as torch-mlir writes it (select(x < 0, x + size, x)) in [-size, size)."""
    value = _uncast(position)
    select = defining_op(value, "arith.select")
    if select is not None:
        condition, wrapped, raw = select.operands
        compare = defining_op(condition, "arith.cmpi")
        add = defining_op(wrapped, "arith.addi")
        if (
            compare is not None
            and ir.IntegerAttr(compare.attributes["predicate"]).value == _SLT
            and compare.operands[0] == raw
            and _constant(compare.operands[1]) == 0
            and add is not None
            and raw in list(add.operands)
            and size in [_constant(v) for v in add.operands]
        ):
            return _uncast(raw), (-size, size)
    return value, (0, size)


def _merge(old: Bounds | None, new: Bounds) -> Bounds:
    if old is None:
        return new
    lows = [b for b in (old[0], new[0]) if b is not None]
    highs = [b for b in (old[1], new[1]) if b is not None]
    return (max(lows) if lows else None, min(highs) if highs else None)


def take_index_bounds(module: ir.Module, entry_name: str) -> dict[int, Bounds]:
    """Bounds per argument index of @`entry_name`, from the asserts erased here."""
    entry = next(
        (
            f
            for f in module.body.operations
            if f.operation.name == "func.func"
            and ir.StringAttr(f.attributes["sym_name"]).value == entry_name
        ),
        None,
    )
    if entry is None or not entry.regions[0].blocks:
        return {}
    block = entry.regions[0].blocks[0]
    found: dict[int, Bounds] = {}
    for generic in collect_ops(module.operation, "linalg.generic"):
        body = generic.regions[0].blocks[0]
        inputs = [
            (body.arguments[k], _whole_input(generic, k, block))
            for k in range(input_count(generic))
        ]
        for read in [o.operation for o in body.operations if o.operation.name == "tensor.extract"]:
            shape = ir.RankedTensorType(read.operands[0].type).shape
            for position, size in zip(list(read.operands)[1:], shape):
                if size < 0:
                    continue
                value, stated = _read_range(position, size)
                argument = next((a for v, a in inputs if a is not None and v == value), None)
                if argument is not None:
                    found[argument] = _merge(found.get(argument), stated)
        for op in [o.operation for o in body.operations if o.operation.name == "cf.assert"]:
            compare = defining_op(op.operands[0], "arith.cmpi")
            if compare is None:
                continue
            predicate = ir.IntegerAttr(compare.attributes["predicate"]).value
            lhs, rhs = compare.operands
            if _constant(rhs) is None and predicate in _SWAPPED:
                lhs, rhs, predicate = rhs, lhs, _SWAPPED[predicate]
            c = _constant(rhs)
            tested = _uncast(lhs)
            argument = next((a for v, a in inputs if a is not None and v == tested), None)
            stated = _stated(predicate, c) if c is not None else None
            if argument is None or stated is None:
                continue
            found[argument] = _merge(found.get(argument), stated)
            op.erase()
            if not list(compare.results[0].uses):
                compare.erase()
    return found
