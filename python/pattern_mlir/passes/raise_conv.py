"""pattern-raise-conv: linalg 3x3 convs with pattern-conforming weights -> pattern.conv2d.

torch-mlir imports a conv as `tensor.pad` + `linalg.conv_2d_nchw_fchw` whose
init is the broadcast bias, followed by elementwise generics. When the filter
is a constant whose kernels conform to a pattern library (derived from the
weights themselves, so any pruned model works without side information), the
pad, the bias and a following ReLU / ReLU6 fold into one `pattern.conv2d`.
Everything else, dense convs included, is left for the dense lowering, and each
conv left dense says why in a `pattern.dense = "<reason>"` attribute, so the
stage IR shows which layers run pattern kernels and which do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from mlir import ir

from ..dialects import builders
from .registry import ModulePass, register_pass
from .utils.constants import constant_array, defining_op, scalar_constant
from .utils.conv_info import collect_ops

_CONV = "linalg.conv_2d_nchw_fchw"
# Grouped and depthwise convs: always dense (a pattern kernel computes one full group).
_OTHER_CONVS = (
    "linalg.conv_2d_ngchw_fgchw",
    "linalg.conv_2d_ngchw_gfchw",
    "linalg.depthwise_conv_2d_nchw_chw",
    "linalg.conv_2d_nhwc_hwcf",
    "linalg.conv_2d_nhwc_fhwc",
)
DENSE_ATTR = "pattern.dense"
# arith.cmpf predicates meaning "greater than" (ordered and unordered).
_GREATER_THAN = {2, 9}


def conv_padding(conv: ir.Operation) -> tuple[ir.Value, list[int]]:
    """The unpadded input and [top, left, bottom, right] if a zero tensor.pad feeds `conv`."""
    source = conv.operands[0]
    pad = defining_op(source, "tensor.pad")
    if pad is None or len(pad.operands) != 1:
        return source, [0, 0, 0, 0]
    low, high = list(pad.attributes["static_low"]), list(pad.attributes["static_high"])
    yielded = pad.regions[0].blocks[0].operations[0]
    if (
        low[:2] != [0, 0]
        or high[:2] != [0, 0]
        or yielded.name != "tensor.yield"
        or scalar_constant(yielded.operands[0]) != 0.0
    ):
        return source, [0, 0, 0, 0]
    return pad.operands[0], [low[2], low[3], high[2], high[3]]


def conv_bias(init: ir.Value, out_channels: int) -> tuple[bool, np.ndarray | None]:
    """(recognised, bias) for the conv's init: a broadcast constant bias or a zero fill."""
    broadcast = defining_op(init, "linalg.broadcast")
    if broadcast is not None and list(broadcast.attributes["dimensions"]) == [0, 2, 3]:
        bias = constant_array(broadcast.operands[0])
        if bias is not None and bias.shape == (out_channels,):
            return True, bias.astype(np.float32)
    fill = defining_op(init, "linalg.fill")
    if fill is not None and scalar_constant(fill.operands[0]) == 0.0:
        return True, None
    return False, None


def _elementwise_body(op: ir.Operation) -> list[ir.Operation] | None:
    """Body ops of a one-input, one-output linalg.generic, else None."""
    if op.name != "linalg.generic" or len(op.operands) != 2 or len(op.results) != 1:
        return None
    return list(op.regions[0].blocks[0].operations)


# arith.cmpf predicate codes -> comparison (ordered and unordered alike; NaN
# inputs are outside what a fused clamp promises anyway).
_COMPARE = {
    2: float.__gt__,
    9: float.__gt__,
    3: float.__ge__,
    10: float.__ge__,
    4: float.__lt__,
    12: float.__lt__,
    5: float.__le__,
    13: float.__le__,
}


def _only_user(value: ir.Value) -> ir.Operation | None:
    uses = list(value.uses)
    if len(uses) != 1:
        return None
    user = uses[0].owner
    return user.operation if isinstance(user, ir.OpView) else user


def _bound(op: ir.Operation, value: ir.Value) -> tuple[str, float] | None:
    """("max" | "min", c) if `op` computes max(value, c) or min(value, c) elementwise.

    torch-mlir writes ReLU6 / hardtanh as two generics, each taking the
    activation and a 0-d constant tensor, with a body `select(cmpf(a, b), a, b)`.
    The body is classified by evaluating it just below and above c.
    """
    if op is None or op.name != "linalg.generic" or len(op.operands) != 3 or len(op.results) != 1:
        return None
    body = list(op.regions[0].blocks[0].operations)
    if [o.name for o in body] != ["arith.cmpf", "arith.select", "linalg.yield"]:
        return None
    slot = 0 if op.operands[0] == value else 1 if op.operands[1] == value else None
    constant = constant_array(op.operands[1 - slot]) if slot is not None else None
    if constant is None or constant.shape != ():
        return None
    args = list(op.regions[0].blocks[0].arguments)
    cmp, select = body[0], body[1]
    compare = _COMPARE.get(ir.IntegerAttr(cmp.attributes["predicate"]).value)
    operands = [cmp.operands[0], cmp.operands[1], select.operands[1], select.operands[2]]
    if (
        compare is None
        or select.operands[0] != cmp.results[0]
        or any(v not in args[:2] for v in operands)
    ):
        return None
    c = float(constant)

    def evaluate(x: float) -> float:
        env = {0: x if slot == 0 else c, 1: c if slot == 0 else x}
        pick = [env[args.index(v)] for v in operands]
        return pick[2] if compare(pick[0], pick[1]) else pick[3]

    low, high = evaluate(c - 1.0), evaluate(c + 1.0)
    if (low, high) == (c, c + 1.0):
        return "max", c
    if (low, high) == (c - 1.0, c):
        return "min", c
    return None


def _activation(result: ir.Value) -> tuple[list[ir.Operation], str, tuple[float, float] | None]:
    """The generics applying ReLU, ReLU6 or a clamp to `result` (only uses), outermost last."""
    user = _only_user(result)
    first = _bound(user, result)
    if first is not None and first[0] == "max":
        second_user = _only_user(user.results[0])
        second = _bound(second_user, user.results[0])
        if second is not None and second[0] == "min" and first[1] <= second[1]:
            bounds = (first[1], second[1])
            return [user, second_user], ("relu6" if bounds == (0.0, 6.0) else "clamp"), bounds
        if first[1] == 0.0:
            return [user], "relu", None
    body = _elementwise_body(user) if user is not None else None
    if body is None or user.operands[0] != result:
        return [], "none", None
    names = [op.name for op in body]
    if names == ["arith.cmpf", "arith.select", "linalg.yield"]:
        cmp, select = body[0], body[1]
        predicate = ir.IntegerAttr(cmp.attributes["predicate"]).value
        if (
            predicate in _GREATER_THAN
            and scalar_constant(cmp.operands[1]) == 0.0
            and (select.operands[2] == cmp.operands[1])
        ):
            return [user], "relu", None
    return [], "none", None


def _erase_dead(roots: list[ir.Operation]) -> None:
    """Erases `roots` and then their producers while they have no uses left.

    Each operation is visited once (a handle to an erased operation must never
    be touched again), in use-before-producer order.
    """
    worklist = list(roots)
    while worklist:
        op = worklist.pop(0)
        if any(list(r.uses) for r in op.results):
            continue
        for value in op.operands:
            producer = defining_op(value)
            if producer is not None and not any(producer == other for other in worklist):
                worklist.append(producer)
        op.erase()


def _pair_attr(conv: ir.Operation, name: str) -> list[int]:
    """`strides` / `dilations` of a linalg conv; absent means 1 (the named op's default)."""
    return [int(v) for v in conv.attributes[name]] if name in conv.attributes else [1, 1]


def _static_tensor(value: ir.Value) -> bool:
    return isinstance(value.type, ir.RankedTensorType) and value.type.has_static_shape


def _is_splat(value: ir.Value) -> bool:
    """Whether a splat arith.constant defines `value`: checked before reading it as an array,
    which would materialise every element of a type that may be arbitrarily large."""
    owner = defining_op(value, "arith.constant")
    attr = owner.attributes["value"] if owner is not None else None
    return isinstance(attr, ir.DenseElementsAttr) and attr.is_splat


def _input_reason(conv: ir.Operation) -> str | None:
    """Why `conv`'s operands are outside what a pattern conv expresses, else None. Checked
    before anything is read: a conv on buffers or of dynamic shape is valid linalg."""
    if len(conv.operands) != 3 or len(conv.results) != 1:
        return "it does not compute on tensors"
    values = (*conv.operands, conv.results[0])
    if not all(_static_tensor(v) for v in values):
        return "its operands are not statically shaped tensors"
    element_types = sorted({str(v.type.element_type) for v in values} - {"f32"})
    if element_types:
        return f"element type {element_types[0]} is not f32"
    if _is_splat(conv.operands[1]):
        # Every kernel keeps all taps or none: never a pattern conv.
        return "weights are a splat constant"
    if min(_pair_attr(conv, "strides") + _pair_attr(conv, "dilations")) < 1:
        return "a stride or dilation is below 1"
    return None


def _output_reason(conv: ir.Operation, weight: np.ndarray) -> str | None:
    """Why the pattern conv would not compute `conv`'s result type, else None (linalg also
    accepts an output that covers part of the convolution's window positions)."""
    source, padding = conv_padding(conv)
    if min(padding) < 0:
        return f"negative padding {padding}"
    n, _, h, w = ir.RankedTensorType(source.type).shape
    (sh, sw), (dh, dw) = _pair_attr(conv, "strides"), _pair_attr(conv, "dilations")
    oh = builders.conv_output_size(h, padding[0], padding[2], weight.shape[2], sh, dh)
    ow = builders.conv_output_size(w, padding[1], padding[3], weight.shape[3], sw, dw)
    result = list(ir.RankedTensorType(conv.results[0].type).shape)
    if result != [n, weight.shape[0], oh, ow]:
        return f"its result {result} is not the whole convolution {[n, weight.shape[0], oh, ow]}"
    return None


def dense_reason(conv: ir.Operation) -> tuple[str | None, np.ndarray | None]:
    """(why `conv` stays dense or None, its pattern library when it can be raised)."""
    reason = _input_reason(conv)
    if reason is not None:
        return reason, None
    weight = constant_array(conv.operands[1])
    if weight is None:
        return "weights are not a compile-time constant", None
    shape = ir.RankedTensorType(conv.operands[0].type).shape
    if shape[0] != 1:
        return f"batch {shape[0]}: pattern kernels take batch 1", None
    if weight.ndim != 4 or weight.shape[2:] != (3, 3):
        return f"kernel {'x'.join(map(str, weight.shape[2:]))} is not 3x3", None
    library = builders.derive_library(weight)
    if library is None:
        return "weights follow no pattern library (more than 4 taps or no kept kernel)", None
    if not conv_bias(conv.operands[2], weight.shape[0])[0]:
        return "its init is neither a constant bias nor zero", None
    top, left, bottom, right = conv_padding(conv)[1]
    if (top, left) != (bottom, right):
        return f"asymmetric padding {[top, left, bottom, right]}", None
    reason = _output_reason(conv, weight)
    if reason is not None:
        return reason, None
    return None, library


def raise_conv(conv: ir.Operation) -> bool:
    """Replaces one linalg conv by pattern.conv2d; returns whether it did.

    A conv left dense gets a `pattern.dense` attribute with the reason.
    """
    reason, library = dense_reason(conv)
    if reason is not None:
        conv.attributes[DENSE_ATTR] = ir.StringAttr.get(reason)
        return False
    weight = constant_array(conv.operands[1])
    bias = conv_bias(conv.operands[2], weight.shape[0])[1]
    source, padding = conv_padding(conv)
    activation_ops, activation, clamp = _activation(conv.results[0])
    with ir.InsertionPoint(conv), conv.location:
        raised = builders.build_conv2d(
            source,
            weight,
            library,
            bias=bias,
            stride=_pair_attr(conv, "strides"),
            padding=padding,
            dilation=_pair_attr(conv, "dilations"),
            activation=activation,
            clamp=clamp if activation == "clamp" else None,
        )
    replaced = activation_ops[-1] if activation_ops else conv
    replaced.results[0].replace_all_uses_with(raised)
    _erase_dead([*reversed(activation_ops), conv])
    return True


@register_pass
@dataclass(frozen=True)
class RaiseConv(ModulePass):
    """Raise 3x3 linalg convs whose constant weights follow a pattern library to pattern.conv2d."""

    name: ClassVar[str] = "pattern-raise-conv"

    def apply(self, module: ir.Operation) -> None:
        for conv in collect_ops(module, _CONV):
            raise_conv(conv)
        for name in _OTHER_CONVS:
            for conv in collect_ops(module, name):
                conv.attributes[DENSE_ATTR] = ir.StringAttr.get(f"{name} has no pattern kernel")
