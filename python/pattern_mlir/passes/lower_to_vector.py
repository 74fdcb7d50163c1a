"""pattern-lower-to-vector: pattern.packed_conv2d -> specialised vector code over memrefs.

For every packed convolution this pass emits, into the module:
* the kernel (`pattern_mlir.codegen.emit_conv`): one specialised loop per
  pattern with constant tap offsets, vectorised along output width, register
  blocked over output rows, each input vector loaded once per block;
* an entry function that pads (and, for a width stride, phase-splits) the
  input into a 64-byte aligned scratch buffer (zeroing only the border the
  image leaves; rows copied as vector code: linalg.copy's loops stayed scalar
  in a saved library, a measurable share of VGG-16's inference) and calls the kernel over
  balanced filter groups (`scf.parallel`, one group per thread);
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
from ..codegen.emit_conv import ConvKernelPlan, OutputFrame, emit_conv, plan_conv
from ..codegen.geometry import ConvGeometry
from ..codegen.irtext import FuncWriter, vec_type
from ..codegen.kernel_args import kernel_arrays
from ..codegen.schedule import cpu_target, filter_groups
from .registry import PassError, register_pass
from .target_option import CpuPass
from .utils.conv_info import ConvInfo, collect_ops, packed_fkw, read_conv
from .utils.kernel_calls import append_functions, call_kernel, constant_buffer, read_buffer
from .utils.walk import mark_lowered

_KERNEL_ROWS = ("channels", "tap_offsets", "weights")  # one row per kept kernel


def _memref(shape, element: str = "f32", layout: str = "") -> str:
    dims = "x".join(str(d) for d in shape)
    return f"memref<{dims}x{element}{', ' + layout if layout else ''}>"


def _image_shape(geom: ConvGeometry) -> tuple[int, int, int]:
    return (geom.in_channels, geom.height, geom.width)


def _plane_regions(geom: ConvGeometry, buffer_shape) -> list[tuple[int, int, int, int]]:
    """Where the image lies in the padded, phase-split buffer: per phase plane q that holds
    image data, (q, first image column col0, first plane column j0, columns count).

    Plane q of channel c (buffer plane c*s+q) holds padded columns q, q+s, ...;
    padded column P is input column P - pw (see codegen/geometry.py).
    """
    _, _, wq = buffer_shape
    s, pw = geom.phases, geom.padding[1]
    regions = []
    for q in range(s):
        j0 = max(0, -(-(pw - q) // s))
        col0 = q + j0 * s - pw
        # Columns from Wq on are never read (see ConvGeometry.plane_width), and a row
        # multiple below 16 may leave no room for them: copy only what fits, as
        # codegen.geometry.pad_input_into does.
        count = min((geom.width - 1 - col0) // s + 1, wq - j0) if col0 < geom.width else 0
        if count > 0:
            regions.append((q, col0, j0, count))
    return regions


def _plane_view(
    buf: str, name: str, geom: ConvGeometry, buffer_shape, q, rows, cols
) -> tuple[str, str]:
    """A subview of rows x cols (each a (start, count) pair) of phase plane q of every channel:
    (its defining line, its type)."""
    _, hp, wq = buffer_shape
    s, channels = geom.phases, geom.in_channels
    (r0, nr), (c0, nc) = rows, cols
    view_t = _memref(
        (channels, nr, nc),
        layout=f"strided<[{s * hp * wq}, {wq}, 1], offset: {q * hp * wq + r0 * wq + c0}>",
    )
    line = (
        f"{name} = memref.subview {buf}[{q}, {r0}, {c0}] [{channels}, {nr}, {nc}] [{s}, 1, 1] : "
        f"{_memref(buffer_shape)} to {view_t}"
    )
    return line, view_t


def _input_copies(geom: ConvGeometry, buffer_shape) -> list[str]:
    """linalg.copy ops writing the image %x into the padded, phase-split scratch buffer %buf
    (any width stride; their loops are scalar: ``_vector_copies`` does strides 1 and 2)."""
    channels, height, width = geom.in_channels, geom.height, geom.width
    in_t = _memref((channels, height, width))
    s, ph = geom.phases, geom.padding[0]
    lines = [
        f"%x3 = memref.collapse_shape %x [[0, 1], [2], [3]] : {_memref((1, *_image_shape(geom)))} into {in_t}"
    ]
    for q, col0, j0, count in _plane_regions(geom, buffer_shape):
        src_t = _memref(
            (channels, height, count),
            layout=f"strided<[{height * width}, {width}, {s}], offset: {col0}>",
        )
        dst, dst_t = _plane_view(
            "%buf", f"%dst{q}", geom, buffer_shape, q, (ph, height), (j0, count)
        )
        lines += [
            (
                f"%src{q} = memref.subview %x3[0, 0, {col0}] [{channels}, {height}, {count}] [1, 1, {s}] : "
                f"{in_t} to {src_t}"
            ),
            dst,
            f"linalg.copy ins(%src{q} : {src_t}) outs(%dst{q} : {dst_t})",
        ]
    return lines


class _CopyWriter(FuncWriter):
    """SSA names of their own (``%cp_...``), apart from the entry's hand-written ones."""

    def fresh(self, prefix: str = "v") -> str:
        return super().fresh(f"cp_{prefix}")


def _vector_copies(geom: ConvGeometry, buffer_shape, vector: int) -> list[str]:
    """The image %x into the scratch buffer %buf as vector code, one input row at a time:
    ``vector``-lane loads and stores (masked at the row's end); at width stride 2 each pair of
    loads feeds both phase planes, its even lanes one, its odd lanes the other. `opt -O3` left
    linalg.copy's loops into a strided view scalar in a saved library (the JIT's pipeline
    vectorised them), so the copy no longer depends on the auto-vectoriser."""
    channels, height, width = geom.in_channels, geom.height, geom.width
    _, hp, wq = buffer_shape
    s, ph = geom.phases, geom.padding[0]
    x_t, b_t = _memref((channels * height * width,)), _memref((channels * s * hp * wq,))
    # Plane q's image columns are col0 + s*i: col0 is 0 or 1 (its first column of image data).
    planes = {col0: (q, j0, count) for q, col0, j0, count in _plane_regions(geom, buffer_shape)}
    w = _CopyWriter()
    c = w.for_loop(0, channels)
    y = w.for_loop(0, height)
    src = w.op(f"arith.addi {w.mul_index(c, height * width)}, {w.mul_index(y, width)} : index", "i")
    row = w.op(f"arith.addi {w.mul_index(c, s * hp * wq)}, {w.mul_index(y, wq)} : index", "i")
    if s == 1:
        _, j0, count = planes[0]
        for k in range(0, count, vector):
            lanes = min(vector, count - k)
            x = w.vector_load("%xf", x_t, w.add_index(src, k), lanes, vector)
            w.vector_store(x, "%bf", b_t, w.add_index(row, ph * wq + j0 + k), lanes, vector)
    else:
        vt = vec_type(vector)
        lanes_of = {0: range(0, 2 * vector, 2), 1: range(1, 2 * vector, 2)}  # even, odd
        for m in range(-(-max(count for _, _, count in planes.values()) // vector)):
            b = 2 * vector * m
            starts = (b, b + vector)  # the pair of loads; past the row's end: zeros
            halves = [
                w.vector_load("%xf", x_t, w.add_index(src, k), min(vector, width - k), vector)
                if width > k
                else w.const("dense<0.0>", vt)
                for k in starts
            ]
            for col0, (q, j0, count) in planes.items():
                lanes = min(vector, count - vector * m)
                if lanes > 0:
                    picked = ", ".join(map(str, lanes_of[col0]))
                    x = w.op(
                        f"vector.shuffle {halves[0]}, {halves[1]} [{picked}] : {vt}, {vt}", "v"
                    )
                    w.vector_store(
                        x,
                        "%bf",
                        b_t,
                        w.add_index(row, (q * hp + ph) * wq + j0 + vector * m),
                        lanes,
                        vector,
                    )
    w.end_loop()
    w.end_loop()
    return [
        f"%xf = memref.collapse_shape %x [[0, 1, 2, 3]] : {_memref((1, *_image_shape(geom)))} into {x_t}",
        f"%bf = memref.collapse_shape %buf [[0, 1, 2]] : {_memref(buffer_shape)} into {b_t}",
        *(line.strip() for line in w.body().split("\n")),
    ]


def _copies(geom: ConvGeometry, buffer_shape, vector: int) -> list[str]:
    return (
        _vector_copies(geom, buffer_shape, vector)
        if geom.phases <= 2
        else _input_copies(geom, buffer_shape)
    )


def _border_fills(buf: str, geom: ConvGeometry, buffer_shape) -> list[str]:
    """linalg.fill ops zeroing every element of ``buf`` the image does not cover: padding rows
    and columns and the tail of each row. Filling only these, not the whole buffer before the
    copy, writes each element once (VGG-16: 37 MB less memset per inference)."""
    _, hp, wq = buffer_shape
    ph, height = geom.padding[0], geom.height
    regions = {q: (j0, count) for q, _, j0, count in _plane_regions(geom, buffer_shape)}
    zero = f"{buf}_zero"
    lines = [f"{zero} = arith.constant 0.0 : f32"]
    for q in range(geom.phases):
        if q in regions:
            j0, count = regions[q]
            parts = [
                ((0, ph), (0, wq)),
                ((ph + height, hp - ph - height), (0, wq)),
                ((ph, height), (0, j0)),
                ((ph, height), (j0 + count, wq - j0 - count)),
            ]
        else:
            parts = [((0, hp), (0, wq))]
        for rows, cols in parts:
            if rows[1] > 0 and cols[1] > 0:
                name = f"{buf}_z{len(lines) // 2}"
                view, view_t = _plane_view(buf, name, geom, buffer_shape, q, rows, cols)
                lines += [view, f"linalg.fill ins({zero} : f32) outs({name} : {view_t})"]
    return lines


def output_frame(consumer: ConvKernelPlan) -> OutputFrame:
    """The frame of a conv's output inside its (stride-1) consumer's padded input buffer."""
    _, hp, wq = consumer.input_shape
    ph, pw = consumer.geometry.padding
    return OutputFrame(height=hp, width=wq, row=ph, col=pw)


def _entry_text(
    name: str,
    plan: ConvKernelPlan,
    arrays: dict[str, np.ndarray],
    groups: int,
    padded_input: bool,
    consumer: ConvKernelPlan | None,
) -> str:
    """The memref-level entry: the padded input (made here from %x unless the producer wrote
    it), the output (or, with a consumer, the consumer's padded input around it), then the
    kernel over filter groups."""
    buffer_shape = plan.input_shape
    out_planes = plan.output_shape if consumer is None else consumer.input_shape
    arg_types = {
        "x": _memref((1, *(buffer_shape if padded_input else _image_shape(plan.geometry)))),
        **{k: _memref(v.shape, _element(v)) for k, v in arrays.items()},
        "out": _memref((1, *out_planes)),
    }
    params = ", ".join(f"%{k}: {t}" for k, t in arg_types.items())
    call_args, casts = [], []
    for arg in plan.arg_names:
        if arg == "input":
            call_args.append("%buf")
        elif arg == "output":
            call_args.append("%o3")
        elif arg in ("f_begin", "f_end"):
            call_args.append(f"%{arg}")
        elif arg in _KERNEL_ROWS:
            # The kernel takes any number of kernels: the same function serves every weight set.
            shape = ("?", *arrays[arg].shape[1:])
            casts.append(
                f"%{arg}_d = memref.cast %{arg} : {arg_types[arg]} to {_memref(shape, _element(arrays[arg]))}"
            )
            call_args.append(f"%{arg}_d")
        else:
            call_args.append(f"%{arg}")
    kernel_types = plan.signature()[plan.signature().index("(") + 1 : -1]
    types = ", ".join(part.split(": ", 1)[1] for part in kernel_types.split(", %"))
    call = f"func.call @{plan.func_name}({', '.join(call_args)}) : ({types}) -> ()"
    if padded_input:
        body = [
            f"%buf = memref.collapse_shape %x [[0, 1], [2], [3]] : {arg_types['x']} into {_memref(buffer_shape)}"
        ]
    else:
        # buffer-deallocation-pipeline frees %buf (it rejects frees written by hand).
        body = [
            f"%buf = memref.alloc() {{alignment = 64 : i64}} : {_memref(buffer_shape)}",
            *_border_fills("%buf", plan.geometry, buffer_shape),
            *_copies(plan.geometry, buffer_shape, cpu_target(plan.target).lanes),
        ]
    o, ho, wo = plan.output_shape
    if consumer is None:
        body.append(
            f"%o3 = memref.collapse_shape %out [[0, 1], [2], [3]] : {arg_types['out']} into "
            f"{plan.output_type}"
        )
    else:
        frame = plan.output_frame
        body += [
            (
                f"%o4 = memref.collapse_shape %out [[0, 1], [2], [3]] : {arg_types['out']} into "
                f"{_memref(out_planes)}"
            ),
            *_border_fills("%o4", consumer.geometry, out_planes),
            (
                f"%o3 = memref.subview %o4[0, {frame.row}, {frame.col}] [{o}, {ho}, {wo}] [1, 1, 1] : "
                f"{_memref(out_planes)} to {plan.output_type}"
            ),
        ]
    body += casts
    if groups == 1:
        body += [
            "%f_begin = arith.constant 0 : index",
            f"%f_end = arith.constant {o} : index",
            call,
        ]
    else:
        body += [
            "%c0 = arith.constant 0 : index",
            "%c1 = arith.constant 1 : index",
            f"%cg = arith.constant {groups} : index",
            "scf.parallel (%g) = (%c0) to (%cg) step (%c1) {",
            "  %g1 = arith.addi %g, %c1 : index",
            f"  %b32 = memref.load %bounds[%g] : {arg_types['bounds']}",
            f"  %e32 = memref.load %bounds[%g1] : {arg_types['bounds']}",
            "  %f_begin = arith.index_cast %b32 : i32 to index",
            "  %f_end = arith.index_cast %e32 : i32 to index",
            f"  {call}",
            "  scf.reduce",
            "}",
        ]
    body += ["return"]
    inner = "\n    ".join(body)
    return f"  func.func private @{name}({params}) {{\n    {inner}\n  }}\n"


def _element(array: np.ndarray) -> str:
    return {np.dtype(np.float32): "f32", np.dtype(np.int32): "i32"}[array.dtype]


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
            _entry_text(
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
