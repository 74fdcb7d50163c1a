"""pattern-split-groups: a grouped conv with constant weights becomes one conv per group.

torch-mlir imports `nn.Conv2d(groups=G)` (1 < G < channels) as `linalg.conv_2d_ngchw_gfchw` on
tensors reshaped to expose the group dimension. No kernel of ours reads that op, so it went
the generic path at a fraction of a dense conv's speed, and a pattern-pruned grouped 3x3 conv
was never a pattern conv. Each group is an ordinary `linalg.conv_2d_nchw_fchw` on a channel
slice of the input, with its own constant weights and a slice of the output's initial value;
the groups' results are put together with `tensor.insert_slice`. Where torch-mlir padded the
whole input (zeros around rows and columns), each group pads its own slice of the unpadded
input, the form in which the kernels fold the padding into what they read. The passes after
it then treat every group like any other conv (pattern-raise-conv, the dense GEMM).

What is split: batch-1 convs whose weights are a constant (through the reshape torch-mlir
adds) and whose input is a reshape of a 4-D tensor; at most MAX_GROUPS groups. Anything else
is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from mlir import ir
from mlir.dialects import arith, linalg, tensor

from .registry import ModulePass, register_pass
from .utils.constants import constant_array, defining_op
from .utils.conv_info import collect_ops
from .utils.dead_producers import erase_unused_producers

MAX_GROUPS = 256  # past this, per-group kernels cost more in calls than they save


def _group_reassociation() -> ir.ArrayAttr:
    """NCHW <-> N x G x C/G x H x W: the channel dimension splits into groups and channels."""
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get(
        [
            ir.ArrayAttr.get([ir.IntegerAttr.get(i64, i) for i in dims])
            for dims in ([0], [1, 2], [3], [4])
        ]
    )


def _ints(attr: ir.Attribute) -> list[int]:
    """The integers of a dense elements or dense array attribute."""
    return [int(v) for v in attr]


def _weights(value: ir.Value) -> np.ndarray | None:
    """The constant (G, F/G, C/G, kh, kw) weights, also through torch-mlir's expand_shape."""
    array = constant_array(value)
    if array is None:
        reshape = defining_op(value, "tensor.expand_shape")
        if reshape is None:
            return None
        array = constant_array(reshape.operands[0])
        if array is None:
            return None
    return array.reshape(ir.RankedTensorType(value.type).shape)


def _slice(source: ir.Value, channel_offset: int, channels: int) -> ir.Value:
    """Channels [offset, offset + channels) of a 4-D NCHW tensor."""
    shape = ir.RankedTensorType(source.type).shape
    sizes = [shape[0], channels, shape[2], shape[3]]
    result = ir.RankedTensorType.get(sizes, ir.RankedTensorType(source.type).element_type)
    return tensor.ExtractSliceOp(
        result, source, [], [], [], [0, channel_offset, 0, 0], sizes, [1, 1, 1, 1]
    ).result


def _input_slice(source: ir.Value, channel_offset: int, channels: int) -> ir.Value:
    """A group's input channels. Where the input is the conv's zero padding of rows and
    columns, the group pads its slice of the unpadded tensor: each group's conv then folds
    its padding into the planes it reads (passes/dense/plans.py) and reads its channels
    where they lie, where a slice of the padded tensor is a padded copy of the whole input
    and, per group, a copy of its slice."""
    pad = defining_op(source, "tensor.pad")
    if pad is None or len(pad.operands) != 1:
        return _slice(source, channel_offset, channels)
    low, high = (_ints(pad.attributes[k]) for k in ("static_low", "static_high"))
    body = list(pad.regions[0].blocks[0].operations)
    value = body[-1].operands[0] if body else None
    if len(low) != 4 or low[:2] != [0, 0] or high[:2] != [0, 0] or value is None:
        return _slice(source, channel_offset, channels)
    producer = defining_op(value)
    if producer is not None and producer.operation.parent == pad.operation:
        return _slice(source, channel_offset, channels)  # computed inside the region
    part = _slice(pad.operands[0], channel_offset, channels)
    shape = ir.RankedTensorType(part.type).shape
    padded = [n + lo + hi for n, lo, hi in zip(shape, low, high)]
    element = ir.RankedTensorType(part.type).element_type
    new = tensor.PadOp(ir.RankedTensorType.get(padded, element), part, [], [], low, high)
    index = ir.IndexType.get()
    block = new.regions[0].blocks.append(*([index] * 4))
    with ir.InsertionPoint(block):
        tensor.YieldOp(value)
    return new.result


def _init_slice(init: ir.Value, channel_offset: int, channels: int) -> ir.Value:
    """The initial value of a group's output channels, in the form the passes after this read
    as a conv's bias: a broadcast of the constant bias's slice, a fill, else a slice."""
    shape = ir.RankedTensorType(init.type).shape
    element = ir.RankedTensorType(init.type).element_type
    sizes = [shape[0], channels, shape[2], shape[3]]
    broadcast = defining_op(init, "linalg.broadcast")
    bias = constant_array(broadcast.operands[0]) if broadcast is not None else None
    if (
        bias is not None
        and bias.ndim == 1
        and _ints(broadcast.attributes["dimensions"]) == [0, 2, 3]
    ):
        part = np.ascontiguousarray(bias[channel_offset : channel_offset + channels])
        bias_type = ir.RankedTensorType.get([channels], element)
        bias_g = arith.constant(bias_type, ir.DenseElementsAttr.get(part, type=bias_type))
        return linalg.broadcast(
            bias_g, outs=[tensor.EmptyOp(sizes, element).result], dimensions=[0, 2, 3]
        )
    fill = defining_op(init, "linalg.fill")
    if fill is not None:
        return linalg.fill(fill.operands[0], outs=[tensor.EmptyOp(sizes, element).result])
    return _slice(init, channel_offset, channels)


def _split(op: ir.Operation) -> bool:
    x5, w5, init5 = op.operands
    weights = _weights(w5)
    reshape_in = defining_op(x5, "tensor.expand_shape")
    out_type = ir.RankedTensorType(op.results[0].type)
    n, groups, per_group_out, oh, ow = out_type.shape
    if weights is None or reshape_in is None or n != 1 or not 1 < groups <= MAX_GROUPS:
        return False
    x4 = reshape_in.operands[0]
    if len(ir.RankedTensorType(x4.type).shape) != 4:
        return False
    per_group_in = weights.shape[2]
    strides = _ints(op.attributes["strides"]) if "strides" in op.attributes else [1, 1]
    dilations = _ints(op.attributes["dilations"]) if "dilations" in op.attributes else [1, 1]
    f32 = out_type.element_type
    full_out = [n, groups * per_group_out, oh, ow]
    with ir.InsertionPoint(op), op.location:
        reshape_init = defining_op(init5, "tensor.expand_shape")
        init4 = (
            reshape_init.operands[0]
            if reshape_init is not None
            else tensor.CollapseShapeOp(
                ir.RankedTensorType.get(full_out, f32), init5, _group_reassociation()
            ).result
        )
        result = tensor.EmptyOp(full_out, f32).result
        for g in range(groups):
            w_type = ir.RankedTensorType.get(list(weights.shape[1:]), f32)
            w_g = arith.constant(
                w_type, ir.DenseElementsAttr.get(np.ascontiguousarray(weights[g]), type=w_type)
            )
            y_g = linalg.conv_2d_nchw_fchw(
                _input_slice(x4, g * per_group_in, per_group_in),
                w_g,
                outs=[_init_slice(init4, g * per_group_out, per_group_out)],
                strides=strides,
                dilations=dilations,
            )
            part = [n, per_group_out, oh, ow]
            result = tensor.InsertSliceOp(
                y_g, result, [], [], [], [0, g * per_group_out, 0, 0], part, [1, 1, 1, 1]
            ).result
    users = [use.owner for use in op.results[0].uses]
    # torch-mlir's merge of groups and channels back into NCHW takes the 4-D result as it
    # is; any other collapse (a flatten folded into it) reads the 5-D form below.
    merged = ir.RankedTensorType.get(full_out, f32)
    collapse = [
        u
        for u in users
        if u.name == "tensor.collapse_shape"
        and u.results[0].type == merged
        and str(u.attributes["reassociation"]) == str(_group_reassociation())
    ]
    for user in collapse:
        user.results[0].replace_all_uses_with(result)
        user.erase()
    if len(collapse) != len(users):
        with ir.InsertionPoint(op), op.location:
            back = tensor.ExpandShapeOp(
                out_type, result, _group_reassociation(), [], list(out_type.shape)
            ).result
        op.results[0].replace_all_uses_with(back)
    op.erase()
    for value in (x5, w5, init5):  # torch-mlir's reshapes into the grouped layout (and a
        # padding every group now pads itself), the bias
        erase_unused_producers(value)
    return True


@register_pass
@dataclass(frozen=True)
class SplitGroups(ModulePass):
    """Split grouped convs with constant weights into one linalg.conv_2d_nchw_fchw per group."""

    name: ClassVar[str] = "pattern-split-groups"

    def apply(self, module: ir.Operation) -> None:
        for op in collect_ops(module, "linalg.conv_2d_ngchw_gfchw"):
            _split(op)
