"""Tensor-level clean-up before the GPU lowering, and the check for unsupported ops.

Why: torch-mlir's linalg-on-tensors output carries two things a GPU kernel cannot
hold: ``cf.assert`` inside linalg bodies (SPIR-V has no abort; the asserted facts
are shape and divisor checks torch already made when it traced the model), and
f64 scalar constants truncated to f32 inside the body (a kernel holding f64 needs
the Float64 capability, which phone GPUs lack). The first are dropped, the second
folded to f32 constants (``arith.truncf`` of an inexact constant does not fold
upstream). Anything outside the dialects this path lowers is reported by name
before any pass runs, so the user sees the op, not a failed legalisation.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith

from pattern_mlir.gpu.errors import UnsupportedOpError
from pattern_mlir.passes.utils.constants import constant_array, defining_op
from pattern_mlir.passes.utils.conv_info import collect_ops

#: Dialects whose ops may appear in the input functions.
SUPPORTED_DIALECTS = frozenset(
    {"arith", "math", "linalg", "tensor", "func", "bufferization", "builtin", "pattern"}
)
#: Ops of other dialects that are still accepted.
SUPPORTED_OPS = frozenset({"cf.assert", "scf.yield", "scf.if", "scf.for"})
#: Ops of supported dialects that are not.
REJECTED_OPS = {
    "pattern.conv2d": "pack it first (filter-kernel reorder + FKW: pattern.packed_conv2d)",
    "func.call": "calls are not lowered; inline the callee",
    "tensor.generate": "dynamic tensor construction is not supported",
}


def check_supported(module: ir.Module) -> None:
    """Raise UnsupportedOpError for the first op the GPU path cannot lower."""
    for func in collect_ops(module, "func.func"):
        for region in func.regions:
            for block in region.blocks:
                for op in block.operations:
                    _check_nested(op.operation)


def _check_nested(op: ir.Operation) -> None:
    # Exceptions cannot cross the walk callback (they become RuntimeError): collect, then raise.
    problems: list[UnsupportedOpError] = []

    def visit(inner):
        problem = _problem(inner)
        if problem is not None:
            problems.append(problem)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    if problems:
        raise problems[0]


def _problem(op: ir.Operation) -> UnsupportedOpError | None:
    name = op.name
    dialect = name.split(".", 1)[0]
    where = f"at {op.location}"
    if name in REJECTED_OPS:
        return UnsupportedOpError(name, f"{REJECTED_OPS[name]} ({where})")
    if dialect not in SUPPORTED_DIALECTS and name not in SUPPORTED_OPS:
        return UnsupportedOpError(name, f"no GPU lowering for it ({where})")
    for result in op.results:
        type_ = result.type
        if isinstance(type_, ir.ShapedType) and not ir.ShapedType(type_).has_static_shape:
            return UnsupportedOpError(name, f"result type {type_} has a dynamic shape ({where})")
    return None


def strip_asserts(module: ir.Module) -> int:
    """Erase every ``cf.assert``; return how many."""
    asserts = collect_ops(module, "cf.assert")
    for op in asserts:
        op.erase()
    return len(asserts)


def fold_f64_constants(module: ir.Module) -> int:
    """Replace ``arith.truncf`` of an f64 ``arith.constant`` by an f32 constant."""
    count = 0
    for trunc in collect_ops(module, "arith.truncf"):
        source = defining_op(trunc.operands[0])
        if source is None or source.name != "arith.constant":
            continue
        attr = source.attributes["value"]
        if not isinstance(attr, ir.FloatAttr):
            continue
        value = float(np.float32(ir.FloatAttr(attr).value))
        with ir.InsertionPoint(trunc), trunc.location:
            result_type = trunc.results[0].type
            const = arith.ConstantOp(result_type, ir.FloatAttr.get(result_type, value))
        trunc.results[0].replace_all_uses_with(const.result)
        trunc.erase()
        count += 1
    return count


def _is_i64_tensor(type_: ir.Type) -> bool:
    return isinstance(type_, ir.RankedTensorType) and str(type_.element_type) == "i64"


def narrow_i64_constants(module) -> int:
    """Constant int64 tensors whose values fit in 32 bits (index tables: gathers, reflect
    padding, arange) as int32 tensors, through the reshapes that view them, widened where a
    linalg body reads an element; the buffer then needs no Int64, and the widened arithmetic
    is narrowed with the rest of the kernel's 64-bit integers. Returns how many constants
    were narrowed."""
    i32 = ir.IntegerType.get_signless(32)
    count = 0
    for const in collect_ops(module, "arith.constant"):
        value = const.results[0]
        if not _is_i64_tensor(value.type):
            continue
        data = constant_array(value)
        views = _views_if_widenable(value)
        if (
            data is None
            or views is None
            or (
                data.size
                and (data.min() < np.iinfo(np.int32).min or data.max() > np.iinfo(np.int32).max)
            )
        ):
            continue
        with ir.InsertionPoint(const), const.location:
            values = ir.DenseElementsAttr.get(
                np.ascontiguousarray(data.reshape(-1), dtype=np.int32), shape=list(value.type.shape)
            )
            narrow = arith.ConstantOp(ir.RankedTensorType.get(list(value.type.shape), i32), values)
        value.replace_all_uses_with(narrow.result)
        const.erase()
        for view in views:
            view.set_type(ir.RankedTensorType.get(list(view.type.shape), i32))
        for tensor in [narrow.result, *views]:
            for use in list(tensor.uses):
                owner = use.owner.operation
                if owner.name == "linalg.generic":
                    arg = owner.regions[0].blocks[0].arguments[use.operand_number]
                    arg.set_type(i32)
                    _widen_after(
                        arg,
                        ir.InsertionPoint.at_block_begin(owner.regions[0].blocks[0]),
                        owner.location,
                    )
                elif owner.name == "tensor.extract":
                    result = owner.results[0]
                    result.set_type(i32)
                    _widen_after(result, ir.InsertionPoint.after(owner), owner.location)
        count += 1
    return count


_RESHAPES = ("tensor.expand_shape", "tensor.collapse_shape")


def _views_if_widenable(value: ir.Value) -> list[ir.Value] | None:
    """The reshapes of `value` (transitively), if every read of it or of them can be widened
    where it happens (an input of a linalg.generic, the tensor of a tensor.extract), else None."""
    views, pending = [], [value]
    while pending:
        tensor = pending.pop()
        uses = list(tensor.uses)
        if not uses:
            return None
        for use in uses:
            owner = use.owner.operation
            if owner.name in _RESHAPES:
                views.append(owner.results[0])
                pending.append(owner.results[0])
            elif owner.name == "linalg.generic":
                if use.operand_number >= len(owner.opview.inputs):
                    return None
            elif not (owner.name == "tensor.extract" and use.operand_number == 0):
                return None
    return views


def _widen_after(narrow: ir.Value, point: ir.InsertionPoint, location) -> None:
    """Every use of `narrow` (now i32) reads its sign extension to i64 instead."""
    uses = [(use.owner, use.operand_number) for use in narrow.uses]
    with point, location:
        wide = arith.extsi(ir.IntegerType.get_signless(64), narrow)
    for owner, number in uses:
        owner.operation.operands[number] = wide


def narrow_f64_compares(module) -> int:
    """``arith.cmpf`` of f64 values that are f32 values widened (``arith.extf``) or f64
    constants an f32 holds exactly (torch's ``x == -inf`` of attention masks) as the same
    compare in f32: widening is exact and keeps the order, so the result is the same and
    the kernel needs no Float64. Returns how many compares were narrowed."""
    f32 = ir.F32Type.get()
    count = 0
    for cmp in collect_ops(module, "arith.cmpf"):
        if str(cmp.operands[0].type) != "f64":
            continue
        narrow = [_as_f32(value, f32) for value in cmp.operands]
        if any(value is None for value in narrow):
            continue
        with ir.InsertionPoint(cmp), cmp.location:
            operands = [
                value if isinstance(value, ir.Value) else arith.constant(f32, value)
                for value in narrow
            ]
            new = arith.CmpFOp(cmp.attributes["predicate"], *operands)
        cmp.results[0].replace_all_uses_with(new.result)
        cmp.erase()
        count += 1
    return count


def _as_f32(value: ir.Value, f32: ir.Type):
    """The f32 value `value` widens, or the float an f32 constant would hold, else None."""
    producer = defining_op(value)
    if producer is None:
        return None
    if producer.name == "arith.extf" and producer.operands[0].type == f32:
        return producer.operands[0]
    if producer.name == "arith.constant" and isinstance(producer.attributes["value"], ir.FloatAttr):
        number = ir.FloatAttr(producer.attributes["value"]).value
        if np.isnan(number) or float(np.float32(number)) == number:
            return float(number)
    return None


def demote_f64(module) -> int:
    """Every f64 value of the functions as f32, for profiles without Float64; returns how many
    ops changed. torch-mlir computes some statistics in f64 that torch itself computes in f32
    (the variance of LayerNorm and var_mean); a phone GPU has no f64 arithmetic, and mobile
    compilers demote it likewise. Conversions between f32 and f64 disappear."""
    f32 = ir.F32Type.get()

    def demoted(type_: ir.Type) -> ir.Type | None:
        if isinstance(type_, ir.F64Type):
            return f32
        if isinstance(type_, ir.RankedTensorType) and isinstance(type_.element_type, ir.F64Type):
            return ir.RankedTensorType.get(list(type_.shape), f32)
        return None

    for func in collect_ops(module, "func.func"):
        signature = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
        if any(demoted(t) is not None for t in (*signature.inputs, *signature.results)):
            return 0  # f64 tensors cross the call: the check names them
    ops = _all_ops(module)
    for op in ops:  # block arguments first: a body is visited before the op that holds it
        for region in op.regions:
            for block in region.blocks:
                for arg in block.arguments:
                    if (new := demoted(arg.type)) is not None:
                        arg.set_type(new)
    changed = 0
    for op in ops:
        if (
            op.name in ("arith.extf", "arith.truncf")
            and op.operands[0].type == f32
            and str(op.results[0].type) in ("f32", "f64")
        ):
            op.results[0].replace_all_uses_with(op.operands[0])
            op.erase()
            changed += 1
        elif op.name == "arith.constant" and (new := demoted(op.results[0].type)) is not None:
            attr = op.attributes["value"]
            with ir.InsertionPoint(op), op.location:
                if isinstance(attr, ir.FloatAttr):
                    value = arith.ConstantOp(new, ir.FloatAttr.get(f32, ir.FloatAttr(attr).value))
                else:
                    data = constant_array(op.results[0])
                    if data is None:
                        raise UnsupportedOpError(
                            op.name, f"an f64 constant it cannot read, at {op.location}"
                        )
                    values = ir.DenseElementsAttr.get(
                        np.ascontiguousarray(data.reshape(-1), dtype=np.float32),
                        shape=list(new.shape),
                    )
                    value = arith.ConstantOp(new, values)
            op.results[0].replace_all_uses_with(value.result)
            op.erase()
            changed += 1
        else:
            for result in op.results:
                if (new := demoted(result.type)) is not None:
                    result.set_type(new)
                    changed += 1
    return changed


def _all_ops(module) -> list[ir.Operation]:
    found = []

    def visit(op):
        found.append(op.operation)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return found
