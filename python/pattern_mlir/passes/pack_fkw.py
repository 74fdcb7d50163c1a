"""pattern-pack-fkw: pattern.conv2d -> pattern.packed_conv2d (FKW packing).

FKW stores per kept kernel only its input channel and its taps, grouped per
(filter, pattern), so lowering streams weights forward and never searches.
Filters go in the order `pattern-reorder-filters` wrote (`pattern.filter_order`),
else in the filter-kernel reorder computed here. The packing itself lives in
`pattern_mlir.codegen.fkw`, shared with the GPU path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from mlir import ir
from mlir.dialects import arith

from ..codegen import fkw
from ..dialects import pattern as pattern_ops
from .registry import ModulePass, PassError, register_pass
from .reorder_filters import FILTER_ORDER_ATTR
from .utils.conv_info import collect_ops, read_conv

_COPIED_ATTRS = (
    "strides",
    "padding",
    "dilations",
    "activation",
    "clamp_min",
    "clamp_max",
    "schedule",
)


def dense_weight(rows: np.ndarray, library: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """OIHW weight from pattern.conv2d's kept-tap rows (row-major assignment order)."""
    out_channels, in_channels = assignment.shape
    kh, kw = library.shape[1:]
    dense = np.zeros((out_channels, in_channels, kh * kw), np.float32)
    outs, ins = np.nonzero(assignment >= 0)
    taps = library.reshape(len(library), -1)[assignment[outs, ins]]
    kernels = dense[outs, ins]
    kernels[taps] = rows.reshape(-1)
    dense[outs, ins] = kernels
    return dense.reshape(out_channels, in_channels, kh, kw)


def _filter_order(op: ir.Operation) -> np.ndarray | None:
    """The `pattern.filter_order` the reorder pass wrote, if any; a discardable attribute,
    so nothing but this pass checks its kind."""
    if FILTER_ORDER_ATTR not in op.attributes:
        return None
    attr = op.attributes[FILTER_ORDER_ATTR]
    if not isinstance(attr, ir.DenseI32ArrayAttr):
        raise PassError(op, f"has a {FILTER_ORDER_ATTR} that is not an array<i32>: {attr}")
    return np.array(list(attr), np.int32)


def pack_conv(op: ir.Operation) -> None:
    info = read_conv(op)
    kernel = info.library.shape[1:]
    if kernel != (3, 3):
        # The FKW kernels and the lowering after them compute 3x3 convolutions only.
        raise PassError(op, f"has kernel {kernel[0]}x{kernel[1]}; FKW packing supports 3x3 only")
    out_channels, in_channels = info.output_shape[1], info.input_shape[1]
    assignment = np.array(list(op.attributes["assignment"]), np.int32).reshape(
        out_channels, in_channels
    )
    order = _filter_order(op)
    try:
        packed = fkw.pack(
            dense_weight(info.weights, info.library, assignment), info.library, assignment, order
        )
    except ValueError as error:
        raise PassError(op, f"has a bad {FILTER_ORDER_ATTR}: {error}") from None
    f32 = ir.F32Type.get()
    with ir.InsertionPoint(op), op.location:
        stream = arith.constant(
            ir.RankedTensorType.get(list(packed.weights.shape), f32),
            ir.DenseElementsAttr.get(np.ascontiguousarray(packed.weights)),
        )
        attrs = {name: op.attributes[name] for name in _COPIED_ATTRS if name in op.attributes}
        packed_op = pattern_ops.PackedConv2DOp(
            op.results[0].type,
            op.operands[0],
            stream,
            op.attributes["library"],
            ir.DenseI32ArrayAttr.get(packed.filter_order.tolist()),
            ir.DenseI32ArrayAttr.get(packed.offsets.tolist()),
            ir.DenseI32ArrayAttr.get(packed.channels.tolist()),
            attrs.pop("strides"),
            attrs.pop("padding"),
            attrs.pop("dilations"),
            bias=op.operands[2] if len(op.operands) > 2 else None,
            **attrs,
        )
    old_weights = op.operands[1].owner
    op.results[0].replace_all_uses_with(packed_op.result)
    op.erase()
    if not list(old_weights.results[0].uses):
        old_weights.erase()


@register_pass
@dataclass(frozen=True)
class PackFkw(ModulePass):
    """FKW packing in filter-kernel order: pattern.conv2d -> pattern.packed_conv2d."""

    name: ClassVar[str] = "pattern-pack-fkw"

    def apply(self, module: ir.Operation) -> None:
        for op in collect_ops(module, "pattern.conv2d"):
            pack_conv(op)
