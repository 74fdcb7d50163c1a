"""The entry function of a pattern conv kernel, as MLIR text over memrefs.

The entry pads (and, for a width stride, phase-splits) the input into a 64-byte aligned
scratch buffer, zeroing only the border the image leaves and copying rows as vector code
(linalg.copy's loops stayed scalar in a saved library), then calls the kernel of
`emit_conv` over balanced filter groups (`scf.parallel`, one group per thread). With a
consumer (`output_frame`), the output goes straight into the consumer's padded input
buffer and its border is zeroed, so the consumer needs no copy of its own.
`pattern-lower-to-vector` splices both functions into the module.
"""

from __future__ import annotations

import numpy as np

from .emit_conv import ConvKernelPlan, OutputFrame
from .geometry import ConvGeometry
from .irtext import FuncWriter, vec_type
from .schedule import cpu_target

__all__ = ["emit_conv_entry", "output_frame"]

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


def emit_conv_entry(
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
