"""Make pattern-pruned models for the GPU path's tests and report, from torch.

Why here and not in the official front end: the GPU path must be testable on
its own, before the CPU team's ``pattern-raise-conv`` / ``pattern-pack-fkw``
passes exist. Three small steps:

* ``prune_to_patterns``: project every 3x3 conv of a torch model onto a 4-tap,
  centre-kept library (per kernel the pattern keeping the most energy) and keep
  the strongest ``1/connectivity`` of its kernels: the torch model itself becomes
  the reference;
* ``export_linalg``: torch-mlir's FX importer to linalg-on-tensors text (torch-mlir
  has its own MLIR copy, so only text crosses over);
* ``pack_pattern_convs``: in that text, replace each ``linalg.conv_2d_nchw_fchw``
  whose constant 3x3 weights obey the library by ``pattern.packed_conv2d``
  (``codegen.fkw.pack``), absorbing the zero ``tensor.pad`` before it and the bias
  broadcast it accumulates into.
"""

from __future__ import annotations

import itertools

import numpy as np
from mlir import ir
from mlir.dialects import arith
from mlir.passmanager import PassManager

from pattern_mlir.codegen import fkw
from pattern_mlir.dialects import pattern as pattern_ops
from pattern_mlir.dialects.builders import derive_assignment, library_attr
from pattern_mlir.gpu.constants import constant_value_array
from pattern_mlir.gpu.errors import GpuLoweringError
from pattern_mlir.gpu.irutil import defining_op, ops_named


def candidate_library(num_patterns: int) -> np.ndarray:
    """(P, 3, 3) masks: the centre plus 3 of its 8 neighbours, first P in a fixed order."""
    neighbours = [t for t in range(9) if t != 4]
    masks = []
    for combo in itertools.combinations(neighbours, 3):
        mask = np.zeros(9, dtype=bool)
        mask[[4, *combo]] = True
        masks.append(mask.reshape(3, 3))
    # Interleave so small libraries mix shapes (PatDNN's 8 most frequent are spread out).
    order = list(range(0, len(masks), 7)) + [i for i in range(len(masks)) if i % 7]
    return np.stack([masks[i] for i in order[:num_patterns]])


def prune_to_patterns(model, library: np.ndarray, connectivity: float = 1.0) -> int:
    """Zero, in place, every 3x3 conv weight outside its best pattern and weakest kernels.

    Returns the number of convs pruned. Depthwise (grouped) convs are left dense:
    the pattern op is a full convolution.
    """
    import torch

    lib = torch.from_numpy(np.asarray(library, dtype=bool)).float()  # (P, 3, 3)
    pruned = 0
    with torch.no_grad():
        for module in model.modules():
            if not isinstance(module, torch.nn.Conv2d) or module.kernel_size != (3, 3):
                continue
            if module.groups != 1:
                continue
            w = module.weight
            energy = torch.einsum("oikl,pkl->oip", w * w, lib)
            best = energy.argmax(-1)
            mask = lib[best]  # (O, I, 3, 3)
            kept = energy.gather(-1, best[..., None])[..., 0]
            keep = max(1, round(kept.numel() / connectivity))
            threshold = kept.flatten().topk(keep).values[-1]
            mask = mask * (kept >= threshold)[..., None, None]
            w.mul_(mask)
            pruned += 1
    return pruned


def export_linalg(model, example) -> str:
    """torch-mlir linalg-on-tensors text of ``model(example)`` (eval mode)."""
    from torch_mlir import fx

    return str(fx.export_and_import(model.eval(), example, output_type="linalg-on-tensors"))


def _zero_pad_of(value: ir.Value):
    """(source, [top, left, bottom, right]) if ``value`` is a zero tensor.pad of H and W."""
    op = defining_op(value)
    if op is None or op.name != "tensor.pad":
        return None
    view = op.opview
    low, high = list(view.static_low), list(view.static_high)
    if len(low) != 4 or any(low[:2]) or any(high[:2]) or min(low + high) < 0:
        return None
    yielded = op.regions[0].blocks[0].operations[0].operands[0]
    producer = defining_op(yielded)
    if producer is None or producer.name != "arith.constant":
        return None
    if ir.FloatAttr(producer.attributes["value"]).value != 0.0:
        return None
    return op.operands[0], [low[2], low[3], high[2], high[3]]


def _bias_of(value: ir.Value, out_channels: int):
    """(bias array or None) if the conv accumulates into a bias broadcast or a zero fill."""
    op = defining_op(value)
    if op is None:
        return False, None
    if op.name == "linalg.fill":
        fill = defining_op(op.operands[0])
        zero = (
            fill is not None
            and fill.name == "arith.constant"
            and ir.FloatAttr(fill.attributes["value"]).value == 0.0
        )
        return zero, None
    if op.name == "linalg.broadcast" and list(op.opview.dimensions) == [0, 2, 3]:
        try:
            bias = constant_value_array(op.operands[0], "bias")
        except GpuLoweringError:
            return False, None
        return bias.shape == (out_channels,), bias.astype(np.float32)
    return False, None


def pack_pattern_convs(module_text: str, library: np.ndarray) -> tuple[str, int]:
    """Replace conforming dense convs by pattern.packed_conv2d; return (text, how many)."""
    masks = np.asarray(library, dtype=bool)
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(module_text)
        count = 0
        for conv in ops_named(module, "linalg.conv_2d_nchw_fchw"):
            if _pack_one(conv, masks):
                count += 1
        if count:  # drop the pads, broadcasts and dense weights that lost their users
            PassManager.parse("builtin.module(canonicalize)").run(module.operation)
        return module.operation.get_asm(), count


def _pack_one(conv: ir.Operation, masks: np.ndarray) -> bool:
    inputs = conv.opview.inputs
    try:
        weight = constant_value_array(inputs[1], "conv weights")
    except GpuLoweringError:
        return False
    if weight.ndim != 4 or weight.shape[2:] != (3, 3):
        return False
    try:
        assignment = derive_assignment(weight, masks)
    except ValueError:
        return False
    ok, bias = _bias_of(conv.opview.outputs[0], weight.shape[0])
    if not ok:
        return False
    source, pads = inputs[0], [0, 0, 0, 0]
    padded = _zero_pad_of(source)
    if padded is not None:
        source, pads = padded
    packed = fkw.pack(weight, masks, assignment)
    strides = [int(v) for v in np.array(conv.attributes["strides"]).reshape(-1)]
    dilations = [int(v) for v in np.array(conv.attributes["dilations"]).reshape(-1)]
    f32 = ir.F32Type.get()
    with ir.InsertionPoint(conv), conv.location:
        rows = packed.weights if packed.num_kernels else np.zeros((0, masks[0].sum()), np.float32)
        w_value = arith.constant(
            ir.RankedTensorType.get(list(rows.shape), f32), ir.DenseElementsAttr.get(rows)
        )
        b_value = None
        if bias is not None:
            b_value = arith.constant(
                ir.RankedTensorType.get([len(bias)], f32), ir.DenseElementsAttr.get(bias)
            )
        new = pattern_ops.PackedConv2DOp(
            conv.results[0].type,
            source,
            w_value,
            library_attr(masks),
            ir.DenseI32ArrayAttr.get(packed.filter_order.tolist()),
            ir.DenseI32ArrayAttr.get(packed.offsets.tolist()),
            ir.DenseI32ArrayAttr.get(packed.channels.tolist()),
            ir.DenseI64ArrayAttr.get(strides),
            ir.DenseI64ArrayAttr.get(pads),
            ir.DenseI64ArrayAttr.get(dilations),
            bias=b_value,
        )
    conv.results[0].replace_all_uses_with(new.result)
    conv.erase()
    return True
