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
from pattern_mlir.passes.constants import defining_op
from pattern_mlir.passes.conv_info import collect_ops

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
