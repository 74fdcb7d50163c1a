"""Weights beside the IR: `dense_resource` blobs handed over as numpy arrays.

VGG-16's 138M weights printed as hex are 1.1 GB of text, which the torch-mlir
child printed and this process parsed again: most of a whole-model compile.
The import therefore prints the IR with the blobs elided (only their
`dense_resource<name>` handles remain) and passes the weights as raw arrays;
`attach` gives every handle its array again, without a copy. The same
mechanism lets `compile_str` take MLIR whose resources live elsewhere, and
`check_attached` turns a handle with no data (a file printed with elided
resources) into an error naming the constant, instead of garbage weights.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from mlir import ir

from .._mlir_libs import _patternDialects
from ..frontend.weight_files import resource_name
from ..passes.utils.conv_info import collect_ops

__all__ = ["attach", "check_attached"]

_ALIGNMENT = 64


def attach(module: ir.Module, resources: Mapping[str, np.ndarray]) -> set[str]:
    """Points every `dense_resource<name>` constant with `name` in `resources` at that array.

    The array must match the constant's shape and element type; MLIR keeps a reference
    to it (no copy). The handle may be renamed (`name_1`) when `name` is already taken.
    Returns the handle names now attached.
    """
    attached = set()
    for op in collect_ops(module.operation, "arith.constant"):
        attr = op.attributes["value"]
        name = resource_name(attr)
        if name is None or name not in resources:
            continue
        type_ = ir.RankedTensorType(ir.DenseResourceElementsAttr(attr).type)
        array = resources[name]
        if tuple(array.shape) != tuple(type_.shape) or _element_type(array) != str(
            type_.element_type
        ):
            raise ValueError(
                f"{op.location}: resource {name!r} is {array.dtype}{list(array.shape)}, "
                f"the constant is {type_}"
            )
        new = ir.DenseResourceElementsAttr.get_from_buffer(
            np.ascontiguousarray(array), name, type_, alignment=_ALIGNMENT
        )
        op.attributes["value"] = new
        attached.add(resource_name(new))
    return attached


def check_attached(module: ir.Module, attached: set[str] = frozenset()) -> None:
    """Raises ValueError naming the first `dense_resource` constant that has no data.

    Handles in `attached` (what `attach` returned) are known to have data and are skipped:
    reading a blob copies it.
    """
    for op in collect_ops(module.operation, "arith.constant"):
        attr = op.attributes["value"]
        name = resource_name(attr)
        if (
            name is not None
            and name not in attached
            and _patternDialects.dense_resource_bytes(attr) is None
        ):
            raise ValueError(
                f"{op.location}: dense_resource<{name}> has no data: the module's "
                "dialect_resources section lacks it (was it printed with elided resources?)"
            )


def _element_type(array: np.ndarray) -> str:
    return {"float32": "f32", "float64": "f64", "int32": "i32", "int64": "i64"}.get(
        array.dtype.name, array.dtype.name
    )
