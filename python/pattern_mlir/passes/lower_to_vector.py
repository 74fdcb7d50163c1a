"""pattern-lower-to-vector: pattern.packed_conv2d -> specialised vector code over memrefs.

For every packed convolution this pass emits, into the module:
* the kernel (`pattern_mlir.codegen.emit_conv`): one specialised loop per
  pattern with constant tap offsets, vectorised along output width, register
  blocked over output rows, each input vector loaded once per block;
* an entry function that pads (and, for a width stride, phase-splits) the
  input into a 64-byte aligned scratch buffer and calls the kernel over
  balanced filter groups (`scf.parallel`, one group per thread);
and replaces the op by a call on buffers: `bufferization.to_buffer` of the
input and the FKW constants, an aligned output allocation, and
`bufferization.to_tensor` of the result, so one-shot bufferization then
handles the rest of the model around it.

Options: `target` (host | arm64-neon, default host), `threads` (the executable's
thread count, default 1). A conv runs in as many filter groups as its
`#pattern.schedule` asks for (`threads`; 0 = the thread count), never more than the
thread count.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith, func

from ..codegen import fkw
from ..codegen.activation import Activation
from ..codegen.emit_conv import emit_conv, plan_conv
from ..codegen.geometry import ConvGeometry
from ..codegen.kernel_args import kernel_arrays
from ..codegen.schedule import TARGETS, filter_groups
from .conv_info import PassError, collect_ops, packed_fkw, read_conv
from .registry import register_pass

_KERNEL_ROWS = ("channels", "tap_offsets", "weights")  # one row per kept kernel


def _memref(shape, element: str = "f32", layout: str = "") -> str:
    dims = "x".join(str(d) for d in shape)
    return f"memref<{dims}x{element}{', ' + layout if layout else ''}>"


def _input_copies(geom: ConvGeometry, buffer_shape, in_shape) -> list[str]:
    """linalg.copy ops writing the image into the padded, phase-split scratch buffer.

    Plane q of channel c (buffer plane c*s+q) holds padded columns q, q+s, ...;
    padded column P is input column P - pw (see codegen/geometry.py).
    """
    _, channels, height, width = in_shape
    _, hp, wq = buffer_shape
    s = geom.phases
    ph, pw = geom.padding
    lines = [(f"%x3 = memref.collapse_shape %x [[0, 1], [2], [3]] : {_memref(in_shape)} into "
              f"{_memref((channels, height, width))}")]
    for q in range(s):
        j0 = max(0, -(-(pw - q) // s))
        col0 = q + j0 * s - pw
        if col0 >= width:
            continue
        # Columns from Wq on are never read (see ConvGeometry.plane_width), and a row
        # multiple below 16 may leave no room for them: copy only what fits, as
        # codegen.geometry.pad_input_into does.
        count = min((width - 1 - col0) // s + 1, wq - j0)
        if count <= 0:
            continue
        src_t = _memref((channels, height, count), layout=f"strided<[{height * width}, {width}, {s}], offset: {col0}>")
        dst_off = q * hp * wq + ph * wq + j0
        dst_t = _memref((channels, height, count), layout=f"strided<[{s * hp * wq}, {wq}, 1], offset: {dst_off}>")
        lines += [
            (f"%src{q} = memref.subview %x3[0, 0, {col0}] [{channels}, {height}, {count}] [1, 1, {s}] : "
             f"{_memref((channels, height, width))} to {src_t}"),
            (f"%dst{q} = memref.subview %buf[{q}, {ph}, {j0}] [{channels}, {height}, {count}] [{s}, 1, 1] : "
             f"{_memref(buffer_shape)} to {dst_t}"),
            f"linalg.copy ins(%src{q} : {src_t}) outs(%dst{q} : {dst_t})",
        ]
    return lines


def _entry_text(name: str, plan, in_shape, out_shape, arrays: dict[str, np.ndarray], groups: int) -> str:
    """The memref-level entry: scratch padding, then the kernel over filter groups."""
    buffer_shape = plan.input_shape
    o, ho, wo = plan.output_shape
    arg_types = {"x": _memref(in_shape), **{k: _memref(v.shape, _element(v)) for k, v in arrays.items()},
                 "out": _memref(out_shape)}
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
            casts.append(f"%{arg}_d = memref.cast %{arg} : {arg_types[arg]} to {_memref(shape, _element(arrays[arg]))}")
            call_args.append(f"%{arg}_d")
        else:
            call_args.append(f"%{arg}")
    kernel_types = plan.signature()[plan.signature().index("(") + 1 : -1]
    types = ", ".join(part.split(": ", 1)[1] for part in kernel_types.split(", %"))
    call = f"func.call @{plan.func_name}({', '.join(call_args)}) : ({types}) -> ()"
    body = [
        "%zero = arith.constant 0.0 : f32",
        f"%buf = memref.alloc() {{alignment = 64 : i64}} : {_memref(buffer_shape)}",
        f"linalg.fill ins(%zero : f32) outs(%buf : {_memref(buffer_shape)})",
        *_input_copies(plan.geometry, buffer_shape, in_shape),
        f"%o3 = memref.collapse_shape %out [[0, 1], [2], [3]] : {arg_types['out']} into {_memref((o, ho, wo))}",
        *casts,
    ]
    if groups == 1:
        body += ["%f_begin = arith.constant 0 : index", f"%f_end = arith.constant {o} : index", call]
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
    # buffer-deallocation-pipeline frees %buf (it rejects frees written by hand).
    body += ["return"]
    inner = "\n    ".join(body)
    return f"  func.func private @{name}({params}) {{\n    {inner}\n  }}\n"


def _element(array: np.ndarray) -> str:
    return {np.dtype(np.float32): "f32", np.dtype(np.int32): "i32"}[array.dtype]


def _append_functions(module: ir.Operation, kernel_text: str, entry_text: str) -> None:
    """Parses the kernel module plus the entry and moves both into `module`, private."""
    text = kernel_text.rstrip()
    parsed = ir.Module.parse(text[: text.rindex("}")] + entry_text + "}\n")
    body = module.regions[0].blocks[0]
    for op in list(parsed.body.operations):
        op.attributes["sym_visibility"] = ir.StringAttr.get("private")
        if "llvm.emit_c_interface" in op.attributes:
            del op.attributes["llvm.emit_c_interface"]
        op.detach_from_parent()
        ir.InsertionPoint(body).insert(op)


def _to_buffer(value: ir.Value, memref_type: ir.Type) -> ir.Value:
    return ir.Operation.create(
        "bufferization.to_buffer", results=[memref_type], operands=[value],
        attributes={"read_only": ir.UnitAttr.get()},
    ).result


def _constant_buffer(array: np.ndarray) -> ir.Value:
    element = ir.F32Type.get() if array.dtype == np.float32 else ir.IntegerType.get_signless(32)
    tensor = arith.constant(ir.RankedTensorType.get(list(array.shape), element),
                            ir.DenseElementsAttr.get(np.ascontiguousarray(array)))
    return _to_buffer(tensor, ir.MemRefType.get(list(array.shape), element))


def lower_conv(op: ir.Operation, module: ir.Operation, index: int, target: str, threads: int) -> None:
    info = read_conv(op)
    pads = info.symmetric_padding
    if pads is None:
        raise PassError(op, f"has asymmetric padding {list(info.padding)}, which torch convolutions "
                        "never produce; the CPU lowering supports symmetric padding only")
    if info.input_shape[0] != 1:
        raise PassError(op, f"has batch {info.input_shape[0]}; the CPU lowering supports batch 1")
    _, channels, height, width = info.input_shape
    out_channels = info.output_shape[1]
    packed = packed_fkw(op, info)
    geom = ConvGeometry.make(channels, out_channels, height, width, info.strides, pads, info.dilations)
    activation = Activation.make(info.activation, info.clamp)
    plan = plan_conv(geom, info.library, info.schedule, activation, target, func_name=f"pattern_conv_{index}")
    groups = filter_groups(plan.schedule, threads, out_channels)
    arrays = kernel_arrays(plan, packed)
    arrays["bias"] = info.bias if info.bias is not None else np.zeros(out_channels, np.float32)
    if groups > 1:
        arrays["bounds"] = fkw.balanced_partition(packed, groups).astype(np.int32)
    entry = f"pattern_conv_{index}_entry"
    with op.context, ir.Location.unknown():
        _append_functions(
            module,
            emit_conv(plan),
            _entry_text(entry, plan, info.input_shape, info.output_shape, arrays, groups),
        )
    f32 = ir.F32Type.get()
    with ir.InsertionPoint(op), op.location:
        x = _to_buffer(op.operands[0], ir.MemRefType.get(list(info.input_shape), f32))
        buffers = [_constant_buffer(a) for a in arrays.values()]
        out_type = ir.MemRefType.get(list(info.output_shape), f32)
        out = ir.Operation.create(
            "memref.alloc", results=[out_type], operands=[],
            attributes={"alignment": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 64),
                        "operandSegmentSizes": ir.DenseI32ArrayAttr.get([0, 0])},
        ).result
        func.CallOp([], ir.FlatSymbolRefAttr.get(entry), [x, *buffers, out])
        result = ir.Operation.create(
            "bufferization.to_tensor", results=[op.results[0].type], operands=[out],
            attributes={"restrict": ir.UnitAttr.get(), "writable": ir.UnitAttr.get()},
        ).result
    op.results[0].replace_all_uses_with(result)
    op.erase()


@register_pass(
    "pattern-lower-to-vector",
    "Lower pattern.packed_conv2d to specialised vector kernels called on buffers",
    options=("target", "threads"),
)
def run(module: ir.Operation, options: dict[str, str]) -> None:
    target = options.get("target", "host")
    if target not in TARGETS:
        raise ValueError(f"pattern-lower-to-vector: unknown target {target!r}; known: {sorted(TARGETS)}")
    threads = int(options.get("threads", "1"))
    for index, op in enumerate(collect_ops(module, "pattern.packed_conv2d")):
        lower_conv(op, module, index, target, threads)
