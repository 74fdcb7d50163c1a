"""pattern-fold-constant-generics: a linalg.generic computed from constants alone becomes one.

torch-mlir lowers part of some layers' weight handling to linalg ops on the weight constant:
nn.ConvTranspose2d's kernel, flipped and with its channel dimensions swapped, is a generic that
gathers from the weight (`tensor.extract` at `2 - index`). Left in the model it runs on every
call, and the conv after it sees a computed tensor instead of a constant, so neither the
pattern passes nor the dense GEMM packers can use its weights. This pass evaluates such
generics with numpy at compile time and puts the result in their place as a constant.

What folds: a `linalg.generic` with only parallel loops and one result with an identity
indexing map, whose inputs are constants read through maps of dimensions and constants, and
whose body uses only `linalg.index`, scalar `arith` constants, integer and float arithmetic
(absolute values and floor, ceil, trunc and roundeven included), comparisons, `arith.select`, casts, `tensor.extract` from a
constant (at indices inside its bounds everywhere) and `linalg.yield`. An `outs` tensor the
body reads must be a constant or a `linalg.fill` of one. Anything else (a runtime operand,
an op outside that list, a result over MAX_ELEMENTS elements) leaves the generic as it is.

A scalar f64 constant truncated to f32 (how torch-mlir writes a Python float added to an
f32 tensor, such as a norm's eps) becomes the f32 constant the truncation gives: arith's
folder keeps the truncation when the value is inexact in f32, which would leave f64 in an
f32 model; the value is the same either way (round to nearest even).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from mlir import ir
from mlir.dialects import arith

from .registry import ModulePass, register_pass
from .utils.constants import constant_array, defining_op, elements_attr
from .utils.conv_info import collect_ops
from .utils.dead_producers import erase_unused_producers
from .utils.numpy_arith import CMPF, CMPI, FLOAT_BINARY, INT_BINARY

MAX_ELEMENTS = 1 << 24  # 64 MiB of f32: a weight, not an activation

_NUMPY = {
    "f16": np.float16,
    "f32": np.float32,
    "f64": np.float64,
    "i1": np.bool_,
    "i8": np.int8,
    "i16": np.int16,
    "i32": np.int32,
    "i64": np.int64,
    "index": np.int64,
}

_CASTS = (
    "arith.index_cast",
    "arith.index_castui",
    "arith.extsi",
    "arith.trunci",
    "arith.sitofp",
    "arith.fptosi",
    "arith.extf",
    "arith.truncf",
)


# Exact in numpy as in LLVM (math.round, half away from zero, has no exact numpy twin).
_ROUNDINGS = {
    "math.floor": np.floor,
    "math.ceil": np.ceil,
    "math.trunc": np.trunc,
    "math.roundeven": np.rint,
}


class _CannotFold(Exception):
    """The generic uses something this evaluator does not: it stays as it is."""


def _dtype(type_: ir.Type) -> type:
    dtype = _NUMPY.get(str(type_))
    if dtype is None:
        raise _CannotFold(f"element type {type_}")
    return dtype


def _scalar(attr: ir.Attribute, type_: ir.Type):
    if isinstance(attr, ir.IntegerAttr):
        return _dtype(type_)(attr.value)
    if isinstance(attr, ir.FloatAttr):
        return _dtype(type_)(attr.value)
    raise _CannotFold(f"constant {attr}")


def _map_indices(map_: ir.AffineMap, grids: list[np.ndarray]) -> tuple:
    indices = []
    for expr in map_.results:
        expr = expr.maybe_downcast()
        if isinstance(expr, ir.AffineDimExpr):
            indices.append(grids[expr.position])
        elif isinstance(expr, ir.AffineConstantExpr):
            indices.append(expr.value)
        else:
            raise _CannotFold(f"indexing map {map_}")
    return tuple(indices)


def _operand_value(value: ir.Value) -> np.ndarray:
    """A constant operand's array, also through a linalg.fill of a scalar constant."""
    array = constant_array(value)
    if array is not None:
        return array
    fill = defining_op(value, "linalg.fill")
    if fill is not None:
        scalar = defining_op(fill.operands[0], "arith.constant")
        if scalar is not None:
            type_ = ir.RankedTensorType(value.type)
            return np.full(type_.shape, _scalar(scalar.attributes["value"], type_.element_type))
    raise _CannotFold("an operand is not a constant")


def _evaluate(op: ir.Operation) -> np.ndarray:
    """The generic's result, computed here; raises _CannotFold when it cannot be."""
    if len(op.results) != 1 or not isinstance(op.results[0].type, ir.RankedTensorType):
        raise _CannotFold("not one ranked tensor result")
    out_type = ir.RankedTensorType(op.results[0].type)
    shape = list(out_type.shape)
    if not out_type.has_static_shape or int(np.prod(shape)) > MAX_ELEMENTS:
        raise _CannotFold("dynamic or large result")
    if any("parallel" not in str(t) for t in op.attributes["iterator_types"]):
        raise _CannotFold("a reduction")
    maps = [ir.AffineMapAttr(m).value for m in op.attributes["indexing_maps"]]
    if maps[-1] != ir.AffineMap.get_identity(len(shape)):
        raise _CannotFold("the result is not written in loop order")
    grids = [
        np.arange(n).reshape([n if i == d else 1 for i in range(len(shape))])
        for d, n in enumerate(shape)
    ]

    block = op.regions[0].blocks[0]
    env: dict[ir.Value, object] = {}
    operands = list(op.operands)
    for argument, value, map_ in zip(block.arguments, operands, maps):
        if not any(True for _ in argument.uses):
            continue  # an outs tensor the body never reads
        env[argument] = _operand_value(value)[_map_indices(map_, grids)]

    def read(value: ir.Value):
        if value in env:
            return env[value]
        outer = defining_op(value, "arith.constant")  # a scalar defined outside the generic
        if outer is None:
            raise _CannotFold("the body reads a value from outside that is not a constant")
        return _scalar(outer.attributes["value"], value.type)

    for inner in block.operations:
        inner = inner.operation
        name = inner.name
        if name == "linalg.yield":
            result = np.broadcast_to(np.asarray(read(inner.operands[0])), shape)
            return np.ascontiguousarray(result.astype(_dtype(out_type.element_type)))
        if name == "linalg.index":
            value = grids[ir.IntegerAttr(inner.attributes["dim"]).value]
        elif name == "arith.constant":
            value = _scalar(inner.attributes["value"], inner.results[0].type)
        elif name in INT_BINARY or name in FLOAT_BINARY:
            fn = INT_BINARY.get(name) or FLOAT_BINARY[name]
            value = fn(read(inner.operands[0]), read(inner.operands[1]))
        elif name in ("arith.divsi", "arith.remsi"):
            a, b = np.asarray(read(inner.operands[0])), np.asarray(read(inner.operands[1]))
            if np.any(b == 0):
                raise _CannotFold("division by zero")
            quotient = np.trunc(a / b).astype(np.int64)  # C semantics: round toward zero
            value = quotient if name == "arith.divsi" else a - quotient * b
        elif name == "arith.negf":
            value = np.negative(read(inner.operands[0]))
        elif name in ("math.absi", "math.absf"):  # reflect padding's index table
            value = np.abs(read(inner.operands[0]))
        elif name in _ROUNDINGS:  # nearest resampling's source indices
            value = _ROUNDINGS[name](read(inner.operands[0]))
        elif name in _CASTS:
            value = np.asarray(read(inner.operands[0])).astype(_dtype(inner.results[0].type))
        elif name in ("arith.cmpi", "arith.cmpf"):
            table = CMPI if name == "arith.cmpi" else CMPF
            predicate = ir.IntegerAttr(inner.attributes["predicate"]).value
            if predicate not in table:
                raise _CannotFold(f"{name} predicate {predicate}")
            value = table[predicate](read(inner.operands[0]), read(inner.operands[1]))
        elif name == "arith.select":
            value = np.where(
                read(inner.operands[0]), read(inner.operands[1]), read(inner.operands[2])
            )
        elif name == "tensor.extract":
            source = constant_array(inner.operands[0])
            if source is None:
                raise _CannotFold("tensor.extract from a tensor that is not a constant")
            indices = [np.asarray(read(v)) for v in list(inner.operands)[1:]]
            for index, size in zip(indices, source.shape):
                if index.size and (index.min() < 0 or index.max() >= size):
                    raise _CannotFold("tensor.extract out of bounds")
            value = source[tuple(indices)]
        else:
            raise _CannotFold(f"op {name}")
        env[inner.results[0]] = value
    raise _CannotFold("no linalg.yield")


@register_pass
@dataclass(frozen=True)
class FoldConstantGenerics(ModulePass):
    """Evaluate linalg.generic ops whose inputs are all constants (weight flips, gathers) at
    compile time."""

    name: ClassVar[str] = "pattern-fold-constant-generics"

    def apply(self, module: ir.Operation) -> None:
        fold_truncated_constants(module)
        for op in collect_ops(
            module, "linalg.generic"
        ):  # in order, so a generic fed by a folded one sees its constant
            try:
                array = _evaluate(op)
            except _CannotFold:
                continue
            result_type = op.results[0].type
            with ir.InsertionPoint(op), op.location:
                folded = arith.constant(result_type, elements_attr(array, result_type))
            outs = op.operands[-1]
            op.results[0].replace_all_uses_with(folded)
            op.erase()
            erase_unused_producers(outs)


def fold_truncated_constants(root: ir.Operation) -> None:
    """Replaces each `arith.truncf` of a scalar f64 `arith.constant` under `root` by the
    f32 constant it gives; the f64 constant goes once nothing else reads it."""
    truncations = []

    def visit(op):
        op = op.operation
        if (
            op.name == "arith.truncf"
            and "roundingmode" not in op.attributes  # the default: to nearest even
            and isinstance(op.results[0].type, ir.F32Type)
        ):
            source = defining_op(op.operands[0])
            if (
                source is not None
                and source.name == "arith.constant"
                and isinstance(source.results[0].type, ir.F64Type)
            ):
                truncations.append((op, source))
        return ir.WalkResult.ADVANCE

    root.walk(visit)
    for truncation, source in truncations:
        with truncation.location, ir.InsertionPoint(truncation):
            value = ir.FloatAttr(source.attributes["value"]).value
            folded = arith.constant(ir.F32Type.get(), value)
        truncation.results[0].replace_all_uses_with(folded)
        truncation.erase()
    sources = []
    for _, source in truncations:
        if source not in sources:
            sources.append(source)
    for source in sources:
        if next(iter(source.results[0].uses), None) is None:
            source.erase()
