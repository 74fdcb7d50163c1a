"""Reads a pattern.conv2d / pattern.packed_conv2d into plain Python values.

Passes that rewrite pattern convolutions (packing, CPU and GPU lowering) all
need the same facts: the library as masks, geometry, epilogue, schedule and
the constant weights. Reading them in one place keeps those passes in sync.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mlir import ir

from ..._mlir_libs import _patternDialects
from ...codegen.schedule import Schedule
from ...dialects.builders import library_masks
from ..registry import PassError
from .constants import constant_array
from .walk import walk_unlowered


@dataclass(frozen=True)
class ConvInfo:
    """What a pattern convolution says, as numpy arrays and ints."""

    library: np.ndarray  # (P, KH, KW) bool
    input_shape: tuple[int, ...]  # N, I, H, W
    output_shape: tuple[int, ...]  # N, O, OH, OW
    weights: np.ndarray  # (K, T) float32, the op's weight rows
    bias: np.ndarray | None  # (O,) float32
    strides: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, left, bottom, right
    dilations: tuple[int, int]
    activation: str
    clamp: tuple[float, float] | None
    schedule: Schedule | None

    @property
    def symmetric_padding(self) -> tuple[int, int] | None:
        top, left, bottom, right = self.padding
        return (top, left) if (top, left) == (bottom, right) else None


def schedule_from_attr(attr: ir.Attribute | None) -> Schedule | None:
    """A #pattern.schedule as the codegen dataclass (fields are named alike)."""
    if attr is None:
        return None
    return Schedule(**_patternDialects.schedule_fields(attr))


def read_conv(op: ir.Operation) -> ConvInfo:
    """Reads a pattern conv op; raises PassError if its operands are not constants."""
    attrs = op.attributes
    weights = constant_array(op.operands[1])
    if weights is None:
        raise PassError(op, "needs constant weights (an arith.constant tensor)")
    bias = None
    if len(op.operands) > 2:
        bias = constant_array(op.operands[2])
        if bias is None:
            raise PassError(op, "needs a constant bias (an arith.constant tensor)")
    activation = "none"
    if "activation" in attrs:
        activation = _patternDialects.activation_kind(attrs["activation"])
    clamp = None
    if "clamp_min" in attrs:
        clamp = (ir.FloatAttr(attrs["clamp_min"]).value, ir.FloatAttr(attrs["clamp_max"]).value)
    try:
        schedule = schedule_from_attr(attrs["schedule"] if "schedule" in attrs else None)  # noqa: SIM401 (no .get)
    except ValueError as error:
        raise PassError(op, f"has a schedule the code generator rejects: {error}") from None
    return ConvInfo(
        library=library_masks(attrs["library"]),
        input_shape=tuple(op.operands[0].type.shape),
        output_shape=tuple(op.results[0].type.shape),
        weights=weights.astype(np.float32),
        bias=None if bias is None else bias.astype(np.float32),
        strides=tuple(attrs["strides"]),
        padding=tuple(attrs["padding"]),
        dilations=tuple(attrs["dilations"]),
        activation=activation,
        clamp=clamp,
        schedule=schedule,
    )


def packed_fkw(op: ir.Operation, info: ConvInfo | None = None):
    """The FKW arrays of a pattern conv: read from a packed_conv2d, or packed from a conv2d."""
    from ...codegen.fkw import PackedFKW, pack
    from ..pack_fkw import dense_weight

    info = info or read_conv(op)
    channels, out_channels = info.input_shape[1], info.output_shape[1]
    if op.name == "pattern.conv2d":
        assignment = np.array(list(op.attributes["assignment"]), np.int32).reshape(
            out_channels, channels
        )
        return pack(dense_weight(info.weights, info.library, assignment), info.library, assignment)
    return PackedFKW(
        filter_order=np.array(list(op.attributes["filter_order"]), np.int32),
        offsets=np.array(list(op.attributes["offsets"]), np.int32),
        channels=np.array(list(op.attributes["channels"]), np.int32),
        weights=np.ascontiguousarray(info.weights),
        library=info.library,
        in_channels=channels,
    )


def collect_ops(module, *names: str) -> list[ir.Operation]:
    """All operations called one of `names` under `module` (an Operation, OpView or Module),
    in walk order, outside kernels already lowered (`walk.walk_unlowered`)."""
    found: list[ir.Operation] = []
    wanted = set(names)

    def visit(op):
        if op.name in wanted:
            found.append(op.operation if isinstance(op, ir.OpView) else op)
        return ir.WalkResult.ADVANCE

    walk_unlowered(module, visit)
    return found
