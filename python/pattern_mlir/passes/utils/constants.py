"""Reads compile-time constant tensors out of IR as numpy arrays.

torch-mlir's importer stores weights as `dense_resource` blobs (their bytes live
in the context, not in the attribute), builders and passes write plain `dense`
attributes; both read the same way here.
"""

from __future__ import annotations

import math

import numpy as np
from mlir import ir

from ..._mlir_libs import _patternDialects
from .size_limits import MAX_CONSTANT_ELEMENTS

_NUMPY_TYPES = {
    "f32": np.float32,
    "f64": np.float64,
    "i8": np.int8,  # bool tensors torch-mlir imports as bytes (an attention mask)
    "i32": np.int32,
    "i64": np.int64,
}


def defining_op(value: ir.Value, name: str | None = None) -> ir.Operation | None:
    """The operation defining `value` (None for block arguments), if called `name`."""
    owner = value.owner
    if isinstance(owner, ir.OpView):
        owner = owner.operation
    if not isinstance(owner, ir.Operation) or (name is not None and owner.name != name):
        return None
    return owner


def constant_array(value: ir.Value) -> np.ndarray | None:
    """The value of `value` if an arith.constant of a static tensor defines it, else None."""
    owner = defining_op(value, "arith.constant")
    if owner is None:
        return None
    attr = owner.attributes["value"]
    type_ = value.type if isinstance(value.type, ir.RankedTensorType) else None
    if type_ is None or not type_.has_static_shape:
        return None
    dtype = _NUMPY_TYPES.get(str(type_.element_type))
    if dtype is None:
        return None
    return elements_array(attr, tuple(type_.shape), dtype)


def elements_array(attr: ir.Attribute, shape: tuple[int, ...], dtype) -> np.ndarray | None:
    """The values of a `dense` or `dense_resource` elements attribute (an arith.constant's value,
    a memref.global's initial value) as `dtype`, or None for any other attribute. A constant
    of more than MAX_CONSTANT_ELEMENTS elements is refused (ValueError), not allocated."""
    count = math.prod(shape)
    if count > MAX_CONSTANT_ELEMENTS:
        raise ValueError(
            f"a constant of {count} elements (shape {'x'.join(map(str, shape))}) is too large "
            f"to read at compile time (at most {MAX_CONSTANT_ELEMENTS})"
        )
    blob = _patternDialects.dense_resource_bytes(attr)
    if blob is not None:
        # The first 4 bytes of a printed blob are its alignment, not data; the
        # context stores the data only.
        data = np.frombuffer(blob, dtype=dtype)
        return data.reshape(shape).copy() if data.size == np.prod(shape) else None
    if isinstance(attr, ir.DenseElementsAttr) or ir.DenseElementsAttr.isinstance(attr):
        attr = ir.DenseElementsAttr(attr)
        if attr.is_splat:
            return np.full(shape, attr.get_splat_value().value, dtype=dtype)
        return np.array(attr).astype(dtype).reshape(shape)
    return None


def elements_attr(array: np.ndarray, type_: ir.RankedTensorType) -> ir.DenseElementsAttr:
    """`array` as a dense attribute of `type_`. Booleans (i1) go in as packed bits, little
    bit order: the bindings read an i1 buffer so and refuse one byte per element."""
    if array.dtype == np.bool_:
        array = np.packbits(array, axis=None, bitorder="little")
    return ir.DenseElementsAttr.get(np.ascontiguousarray(array), type=type_)


def scalar_constant(value: ir.Value) -> float | None:
    """The value of a scalar arith.constant float/int, else None."""
    owner = defining_op(value, "arith.constant")
    if owner is None:
        return None
    attr = owner.attributes["value"]
    if isinstance(attr, (ir.FloatAttr, ir.IntegerAttr)):
        return attr.value
    return None
