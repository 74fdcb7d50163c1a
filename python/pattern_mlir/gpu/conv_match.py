"""Recognise torch-mlir's conv idiom and replace it by ``pattern.packed_conv2d``.

Why: torch-mlir imports ``nn.Conv2d`` as a ``tensor.pad`` (zeros on H and W), a
``linalg.broadcast`` of the bias (or a zero ``linalg.fill``) as the accumulator,
and a ``linalg.conv_2d_nchw_fchw`` (or ``linalg.depthwise_conv_2d_nchw_chw``)
with constant weights. The packed op absorbs all three: padding and bias are its
attributes, so they cost no kernel of their own. Used by the GPU lowering of dense
convs (dense_convs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mlir import ir
from mlir.dialects import arith

from pattern_mlir.codegen.fkw import PackedFKW
from pattern_mlir.dialects import pattern as pattern_ops
from pattern_mlir.dialects.builders import library_attr
from pattern_mlir.passes.raise_conv import conv_bias, conv_padding
from pattern_mlir.passes.utils.constants import constant_array, defining_op


@dataclass
class ConvMatch:
    """A linalg conv with constant weights, its zero padding and its bias."""

    conv: ir.Operation
    weight: np.ndarray  # OIHW (full) or CHW (depthwise)
    source: ir.Value  # the input before the absorbed tensor.pad
    pads: list[int]  # [top, left, bottom, right]
    bias: np.ndarray | None
    strides: list[int]
    dilations: list[int]


def _constant_through_reshapes(value: ir.Value) -> np.ndarray | None:
    """A constant tensor's data, looking through collapse/expand_shape (depthwise weights)."""
    op = defining_op(value)
    if op is not None and op.name in ("tensor.collapse_shape", "tensor.expand_shape"):
        inner = _constant_through_reshapes(op.operands[0])
        shape = tuple(ir.RankedTensorType(value.type).shape)
        return None if inner is None else inner.reshape(shape)
    return constant_array(value)


def match_conv(conv: ir.Operation) -> ConvMatch | None:
    """The ConvMatch of a conv_2d_nchw_fchw / depthwise_conv_2d_nchw_chw, or None."""
    view = conv.opview
    weight = _constant_through_reshapes(view.inputs[1])
    if weight is None:
        return None
    if weight.dtype != np.float32:
        return None
    ok, bias = conv_bias(view.outputs[0], ir.RankedTensorType(conv.results[0].type).shape[1])
    if not ok:
        return None
    source, pads = conv_padding(conv)
    return ConvMatch(
        conv=conv,
        weight=weight,
        source=source,
        pads=pads,
        bias=bias,
        strides=_window_attribute(conv, "strides"),
        dilations=_window_attribute(conv, "dilations"),
    )


def _window_attribute(conv: ir.Operation, name: str) -> list[int]:
    """A conv's strides or dilations; linalg's default (1, 1) where the attribute is absent."""
    if name not in conv.attributes:
        return [1, 1]
    return [int(v) for v in np.array(conv.attributes[name]).reshape(-1)]


def replace_with_packed(match: ConvMatch, packed: PackedFKW) -> ir.Operation:
    """Build the packed op before the conv, redirect its uses, erase the conv."""
    conv = match.conv
    masks = np.asarray(packed.library, dtype=bool)
    f32 = ir.F32Type.get()
    with ir.InsertionPoint(conv), conv.location:
        rows = packed.weights.reshape(-1, int(masks[0].sum()))
        w_value = arith.constant(
            ir.RankedTensorType.get(list(rows.shape), f32), ir.DenseElementsAttr.get(rows)
        )
        b_value = None
        if match.bias is not None:
            b_value = arith.constant(
                ir.RankedTensorType.get([len(match.bias)], f32),
                ir.DenseElementsAttr.get(match.bias),
            )
        new = pattern_ops.PackedConv2DOp(
            conv.results[0].type,
            match.source,
            w_value,
            library_attr(masks),
            ir.DenseI32ArrayAttr.get(packed.filter_order.tolist()),
            ir.DenseI32ArrayAttr.get(packed.offsets.tolist()),
            ir.DenseI32ArrayAttr.get(packed.channels.tolist()),
            ir.DenseI64ArrayAttr.get(match.strides),
            ir.DenseI64ArrayAttr.get(match.pads),
            ir.DenseI64ArrayAttr.get(match.dilations),
            bias=b_value,
        )
    conv.results[0].replace_all_uses_with(new.result)
    conv.erase()
    return new.operation
