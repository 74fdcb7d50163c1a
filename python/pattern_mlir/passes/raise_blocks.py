"""pattern-raise-blocks: dense convs and matmuls with block-pruned constant weights -> block ops.

Block-structured pruning (prune.project(..., block_sparsity=s)) zeroes whole blocks of R
consecutive outputs x one input x the kernel window in every layer that is not a pattern
conv. This pass finds such weights among what pattern-raise-conv left: a
`linalg.conv_2d_nchw_fchw` or a `linalg.matmul` with a constant weight (through the
transposes and reshapes torch-mlir writes for nn.Linear) whose kept blocks are at most
`max-density` of all blocks, and replaces it by `pattern.block_conv2d` /
`pattern.block_matmul` holding only the kept blocks (dialects/block_stream.py). The zero
padding in front of a conv and a constant bias in its init fold into the op. The structure
is read from the weights, so any block-pruned model raises without side information.

Options: `block-rows` (0: 8 or 4, whichever leaves less work; see block_stream.pick_block_rows),
`max-density` (default 0.7: above it the stream saves too little to beat the dense kernel).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from mlir import ir
from mlir.dialects import arith

from ..codegen.memref_text import static_f32_shape
from ..dialects.block_stream import encode_blocks, pick_block_rows
from .dense.plans import constant_operand, is_plain_matmul, read_init
from .raise_conv import conv_bias, conv_padding
from .registry import ModulePass, register_pass
from .utils.conv_info import collect_ops
from .vectorize_dense import erase_dead

DEFAULT_MAX_DENSITY = 0.7


def _constant(array: np.ndarray) -> ir.Value:
    array = np.ascontiguousarray(array, np.float32)
    tensor_type = ir.RankedTensorType.get(list(array.shape), ir.F32Type.get())
    return arith.constant(tensor_type, ir.DenseElementsAttr.get(array, type=tensor_type))


def _block_attributes(stream) -> dict[str, ir.Attribute]:
    return {
        "block_rows": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), stream.rows),
        "offsets": ir.DenseI32ArrayAttr.get([int(v) for v in stream.offsets]),
        "channels": ir.DenseI32ArrayAttr.get([int(v) for v in stream.channels]),
    }


def _i64s(values) -> ir.Attribute:
    return ir.DenseI64ArrayAttr.get([int(v) for v in values])


def _static_f32(value: ir.Value) -> bool:
    return static_f32_shape(value) is not None


def raise_conv(conv: ir.Operation, rows: int, max_density: float) -> bool:
    """linalg.conv_2d_nchw_fchw -> pattern.block_conv2d when its weight qualifies."""
    weights, _ = constant_operand(conv.operands[1])
    if weights is None or weights.ndim != 4 or not _static_f32(conv.results[0]):
        return False
    if conv.results[0].type.shape[0] != 1:
        return False  # the block kernels compute one image; a batch stays a dense conv
    block_rows = pick_block_rows(weights, max_density, rows)
    recognised, bias = conv_bias(conv.operands[2], weights.shape[0])
    if block_rows is None or not recognised:
        return False
    source, padding = conv_padding(conv)
    if not _static_f32(source):
        return False  # the lowering reads a static f32 image; anything else stays a dense conv
    attrs = conv.attributes
    strides = list(attrs["strides"]) if "strides" in attrs else [1, 1]
    dilations = list(attrs["dilations"]) if "dilations" in attrs else [1, 1]
    stream = encode_blocks(weights, block_rows)
    with ir.InsertionPoint(conv), conv.location:
        operands = [source, _constant(stream.weights)]
        if bias is not None:
            operands.append(_constant(bias))
        raised = ir.Operation.create(
            "pattern.block_conv2d",
            results=[conv.results[0].type],
            operands=operands,
            attributes={
                "kernel": _i64s(weights.shape[2:]),
                **_block_attributes(stream),
                "strides": _i64s(strides),
                "padding": _i64s(padding),
                "dilations": _i64s(dilations),
            },
        )
    conv.results[0].replace_all_uses_with(raised.results[0])
    conv.erase()
    return True


def raise_matmul(matmul: ir.Operation, rows: int, max_density: float) -> bool:
    """linalg.matmul (M x C times a constant C x N) -> pattern.block_matmul when it qualifies."""
    if len(matmul.operands) != 3 or not is_plain_matmul(matmul):
        return False  # transposed or broadcast forms through indexing maps are not read
    b, _ = constant_operand(matmul.operands[1])
    if (
        b is None
        or b.ndim != 2
        or not all(_static_f32(v) for v in (matmul.operands[0], matmul.results[0]))
    ):
        return False
    weight = b.T  # N outputs x C inputs
    block_rows = pick_block_rows(weight, max_density, rows)
    init = read_init(matmul.operands[2], 1, 2)
    if block_rows is None or init.kind == "load":
        return False
    n = weight.shape[0]
    bias = {"zero": None, "const": np.full(n, init.value, np.float32), "row": init.bias}[init.kind]
    stream = encode_blocks(weight, block_rows)
    with ir.InsertionPoint(matmul), matmul.location:
        operands = [matmul.operands[0], _constant(stream.weights.reshape(stream.kept, block_rows))]
        if bias is not None:
            operands.append(_constant(bias))
        raised = ir.Operation.create(
            "pattern.block_matmul",
            results=[matmul.results[0].type],
            operands=operands,
            attributes=_block_attributes(stream),
        )
    matmul.results[0].replace_all_uses_with(raised.results[0])
    matmul.erase()
    return True


@register_pass
@dataclass(frozen=True)
class RaiseBlocks(ModulePass):
    """Raise dense convs and matmuls whose constant weights are pruned in blocks to
    pattern.block_conv2d / pattern.block_matmul."""

    name: ClassVar[str] = "pattern-raise-blocks"
    block_rows: int = 0  # rows of a block: 4 or 8, or 0 to choose per op
    max_density: float = DEFAULT_MAX_DENSITY  # denser weights stay dense

    def __post_init__(self) -> None:
        if self.block_rows not in (0, 4, 8):
            raise ValueError(
                f"{self.name}: block-rows must be 0 (auto), 4 or 8, got {self.block_rows}"
            )
        if not 0.0 < self.max_density <= 1.0:
            raise ValueError(f"{self.name}: max-density must be in (0, 1], got {self.max_density}")

    def apply(self, module: ir.Operation) -> None:
        rows, max_density = self.block_rows, self.max_density
        for conv in collect_ops(module, "linalg.conv_2d_nchw_fchw"):
            raise_conv(conv, rows, max_density)
        for matmul in collect_ops(module, "linalg.matmul"):
            raise_matmul(matmul, rows, max_density)
        erase_dead(module)  # the weight constants, transposes, pads and inits no longer read
