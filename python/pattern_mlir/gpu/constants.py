"""Read the data of constant tensors and globals into numpy.

Why one place: weights reach the GPU path as ``arith.constant`` tensors (before
bufferization) and as ``memref.global`` initial values (after), written either as
plain ``dense<...>`` attributes or as torch-mlir's ``dense_resource<...>`` blobs,
whose bytes only the project's extension can read. Weights are read once, at
compile time, and uploaded once per executable.
"""

from __future__ import annotations

import numpy as np
from mlir import ir

from pattern_mlir._mlir_libs import _patternDialects
from pattern_mlir.gpu.errors import GpuLoweringError
from pattern_mlir.gpu.irutil import defining_op

_DTYPES = {
    "f32": np.float32,
    "f64": np.float64,
    "i32": np.int32,
    "i64": np.int64,
    "i1": np.bool_,
    "i8": np.int8,
    "i16": np.int16,
    "f16": np.float16,
}


def numpy_dtype(element_type: ir.Type) -> np.dtype:
    name = str(element_type)
    if name not in _DTYPES:
        raise GpuLoweringError(f"constant element type {name} is not supported")
    return np.dtype(_DTYPES[name])


def attribute_array(attr: ir.Attribute, shaped_type: ir.Type) -> np.ndarray:
    """The values of a dense or dense_resource elements attribute, shaped like the type."""
    shaped = ir.ShapedType(shaped_type)
    dtype = numpy_dtype(shaped.element_type)
    shape = tuple(shaped.shape)
    raw = _patternDialects.dense_resource_bytes(attr)
    if raw is not None:
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if isinstance(attr, ir.DenseElementsAttr) or ir.DenseElementsAttr.isinstance(attr):
        dense = ir.DenseElementsAttr(attr)
        if dense.is_splat:
            return np.full(shape, _splat(dense), dtype=dtype)
        return np.array(dense).astype(dtype).reshape(shape)
    raise GpuLoweringError(f"cannot read constant data from attribute {str(attr)[:80]}")


def _splat(dense: ir.DenseElementsAttr):
    value = dense.get_splat_value()
    if isinstance(value, ir.FloatAttr):
        return ir.FloatAttr(value).value
    if isinstance(value, ir.IntegerAttr):
        return ir.IntegerAttr(value).value
    if isinstance(value, ir.BoolAttr):
        return ir.BoolAttr(value).value
    raise GpuLoweringError(f"unsupported splat value {value}")


def constant_value_array(value: ir.Value, what: str) -> np.ndarray:
    """The data of a tensor produced by ``arith.constant``; GpuLoweringError otherwise."""
    op = defining_op(value)
    if op is None or op.name != "arith.constant":
        producer = "a block argument" if op is None else f"'{op.name}'"
        raise GpuLoweringError(f"{what} must be an arith.constant, but comes from {producer}")
    return attribute_array(op.attributes["value"], value.type)
