"""pattern-lower-to-vector: pattern.packed_conv2d -> specialised vector code over memrefs.

For every packed convolution this pass emits, into the module:
* the kernel (`pattern_mlir.codegen.emit_conv`): one specialised loop per
  pattern with constant tap offsets, vectorised along output width, register
  blocked over output rows, each input vector loaded once per block;
* an entry function (`pattern_mlir.codegen.conv_entry`) that pads (and, for a width
  stride, phase-splits) the input into a 64-byte aligned scratch buffer and calls the
  kernel over balanced filter groups (`scf.parallel`, one group per thread);
and replaces the op by a call on buffers: `bufferization.to_buffer` of the
input and the FKW constants, an aligned output allocation, and
`bufferization.to_tensor` of the result, so one-shot bufferization then
handles the rest of the model around it.

A conv whose output's only user is another conv with width stride 1 (VGG's conv pairs and
triples) writes that output straight into the consumer's padded input buffer and zeroes its
border; the consumer reads the buffer as it is, with no scratch copy (`OutputFrame`). With
the border-only fill, this made a saved VGG-16 library (opt + llc) measurably faster; under
the JIT, whose LLVM pipeline made the copies cheaper already, it is within noise (measured:
docs/design.md, section 10).

Options: `target` (a CPU target of `pattern_mlir.target`, default host), `threads` (the executable's
thread count, default 1). A conv runs in as many filter groups as its
`#pattern.schedule` asks for (`threads`; 0 = the thread count), never more than the
thread count.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from mlir import ir

from ..codegen import fkw
from ..codegen.activation import Activation
from ..codegen.conv_entry import emit_conv_entry, output_frame
from ..codegen.emit_conv import ConvKernelPlan, OutputFrame, emit_conv, plan_conv
from ..codegen.geometry import ConvGeometry
from ..codegen.kernel_args import kernel_arrays
from ..codegen.schedule import filter_groups
from .registry import PassError, register_pass
from .target_option import CpuPass
from .utils.conv_info import ConvInfo, collect_ops, packed_fkw, read_conv
from .utils.kernel_calls import append_functions, call_kernel, constant_buffer, read_buffer
from .utils.walk import mark_lowered


def _append_functions(module: ir.Operation, kernel_text: str, entry_text: str) -> None:
    """Moves the kernel module's functions plus the entry into `module`, private."""
    text = kernel_text.rstrip()
    for op in append_functions(module, text[: text.rindex("}")] + entry_text + "}\n"):
        op.attributes["sym_visibility"] = ir.StringAttr.get("private")
        mark_lowered(op)
        if "llvm.emit_c_interface" in op.attributes:
            del op.attributes["llvm.emit_c_interface"]


@dataclass(frozen=True)
class _Conv:
    """One packed conv read and planned, before it is lowered."""

    op: ir.Operation
    info: ConvInfo
    plan: ConvKernelPlan


# The entry copies each input row with unrolled vector code and the plan lists every vector
# of an output row, so code and compile time grow with the width: bounded well above any
# CNN's feature maps.
MAX_WIDTH = 1 << 15
# Entries of the per-(filter, pattern) channel-block tables a schedule's tile_channels asks for.
MAX_CHANNEL_SPLITS = 1 << 24


def _check(op: ir.Operation, info: ConvInfo) -> tuple[int, int]:
    """What the CPU lowering needs beyond the verifier; returns the (rows, columns) padding."""
    kernel = info.library.shape[1:]
    if kernel != (3, 3):
        raise PassError(
            op, f"has kernel {kernel[0]}x{kernel[1]}; the CPU lowering supports 3x3 only"
        )
    pads = info.symmetric_padding
    if pads is None:
        raise PassError(
            op,
            f"has asymmetric padding {list(info.padding)}, which torch convolutions "
            "never produce; the CPU lowering supports symmetric padding only",
        )
    if info.input_shape[0] != 1:
        raise PassError(op, f"has batch {info.input_shape[0]}; the CPU lowering supports batch 1")
    width = max(info.input_shape[3] + 2 * pads[1], info.output_shape[3])
    if width > MAX_WIDTH:
        raise PassError(
            op, f"has padded input width {width}; the CPU lowering supports up to {MAX_WIDTH}"
        )
    tile = info.schedule.tile_channels if info.schedule is not None else 0
    if tile:
        blocks = -(-info.input_shape[1] // tile)
        splits = info.output_shape[1] * len(info.library) * (blocks + 1)
        if splits > MAX_CHANNEL_SPLITS:
            raise PassError(
                op,
                f"has schedule tile_channels = {tile}, {blocks} blocks of its "
                f"{info.input_shape[1]} input channels: {splits} channel-block table "
                f"entries, more than {MAX_CHANNEL_SPLITS}",
            )
    return pads


def _read(op: ir.Operation, index: int, target: str) -> _Conv:
    info = read_conv(op)
    pads = _check(op, info)
    _, channels, height, width = info.input_shape
    try:
        geom = ConvGeometry.make(
            channels, info.output_shape[1], height, width, info.strides, pads, info.dilations
        )
        activation = Activation.make(info.activation, info.clamp)
        plan = plan_conv(
            geom, info.library, info.schedule, activation, target, func_name=f"pattern_conv_{index}"
        )
    except ValueError as error:
        raise PassError(op, f"cannot be planned: {error}") from None
    return _Conv(op, info, plan)


def _consumer(conv: _Conv, convs: list[_Conv]) -> _Conv | None:
    """The conv that may read this conv's output straight from its padded input buffer: the
    output's only user, reading it as its input, with no phase split (width stride 1), so the
    buffer holds the image unchanged inside a zero border."""
    uses = list(conv.op.results[0].uses)
    if len(uses) != 1 or uses[0].operand_number != 0:
        return None
    user = next((c for c in convs if c.op == uses[0].owner), None)
    return user if user is not None and user.plan.geometry.phases == 1 else None


def _interior(padded: ir.Value, frame: OutputFrame, shape) -> ir.Value:
    """The image inside a padded tensor (1, O, Hp, Wq): tensor.extract_slice of ``shape``."""
    return ir.Operation.create(
        "tensor.extract_slice",
        results=[ir.RankedTensorType.get(list(shape), ir.F32Type.get())],
        operands=[padded],
        attributes={
            "static_offsets": ir.DenseI64ArrayAttr.get([0, 0, frame.row, frame.col]),
            "static_sizes": ir.DenseI64ArrayAttr.get(list(shape)),
            "static_strides": ir.DenseI64ArrayAttr.get([1, 1, 1, 1]),
            "operandSegmentSizes": ir.DenseI32ArrayAttr.get([1, 0, 0, 0]),
        },
    ).result


def lower_conv(
    conv: _Conv,
    module: ir.Operation,
    threads: int,
    padded_input: ir.Value | None = None,
    consumer: _Conv | None = None,
) -> ir.Value | None:
    """Replace one packed conv by a call of its kernel's entry.

    ``padded_input``: the conv's input already padded (its producer wrote it so) as a tensor
    (1, C, Hp, Wq). With a ``consumer`` the output is written into the consumer's padded
    input; that tensor is returned, for the consumer's ``padded_input``.
    """
    op, info, plan = conv.op, conv.info, conv.plan
    if consumer is not None:
        plan = dataclasses.replace(plan, output_frame=output_frame(consumer.plan))
    out_channels = info.output_shape[1]
    packed = packed_fkw(op, info)
    groups = filter_groups(plan.schedule, threads, out_channels)
    try:
        arrays = kernel_arrays(plan, packed)
        bounds = fkw.balanced_partition(packed, groups).astype(np.int32) if groups > 1 else None
    except ValueError as error:
        raise PassError(op, f"cannot be lowered: {error}") from None
    arrays["bias"] = info.bias if info.bias is not None else np.zeros(out_channels, np.float32)
    if bounds is not None:
        arrays["bounds"] = bounds
    entry = f"{plan.func_name}_entry"
    with op.context, ir.Location.unknown():
        _append_functions(
            module,
            emit_conv(plan),
            emit_conv_entry(
                entry, plan, arrays, groups, padded_input is not None, consumer and consumer.plan
            ),
        )
    f32 = ir.F32Type.get()
    out_shape = info.output_shape if consumer is None else (1, *consumer.plan.input_shape)
    with ir.InsertionPoint(op), op.location:
        if padded_input is None:
            x = read_buffer(op.operands[0], ir.MemRefType.get(list(info.input_shape), f32))
        else:
            x = read_buffer(padded_input)
        buffers = [constant_buffer(a) for a in arrays.values()]
        result = call_kernel(entry, [x, *buffers], out_shape)
        # Until the consumer is lowered it reads the image as before: the padded tensor's
        # interior. Its lowering then takes the padded tensor itself and erases the slice.
        image = (
            result if consumer is None else _interior(result, plan.output_frame, info.output_shape)
        )
    image_op = op.operands[0].owner if padded_input is not None else None
    op.results[0].replace_all_uses_with(image)
    op.erase()
    if image_op is not None and not list(image_op.results[0].uses):
        image_op.erase()
    return result if consumer is not None else None


@register_pass
@dataclass(frozen=True)
class LowerToVector(CpuPass):
    """Lower pattern.packed_conv2d to specialised vector kernels called on buffers."""

    name: ClassVar[str] = "pattern-lower-to-vector"

    def apply(self, module: ir.Operation) -> None:
        target, threads = self.cpu_target().name, self.threads
        convs = [
            _read(op, i, target)
            for i, op in enumerate(collect_ops(module, "pattern.packed_conv2d"))
        ]
        consumers = [_consumer(conv, convs) for conv in convs]
        padded: dict[
            str, ir.Value
        ] = {}  # consumer's kernel name -> its input, padded by the producer
        for conv, consumer in zip(convs, consumers):
            result = lower_conv(conv, module, threads, padded.get(conv.plan.func_name), consumer)
            if consumer is not None:
                padded[consumer.plan.func_name] = result
