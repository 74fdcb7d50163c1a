"""Transposed convolutions as one small stride-1 conv per output phase.

torch-mlir writes ConvTranspose2d with stride s as a stride-1 `linalg.conv_2d_nchw_fchw` over
its input spread onto a zero canvas (`tensor.insert_slice` with strides s into a
`linalg.fill` of 0): s*s - 1 of every s*s products the conv would compute multiply a zero.
Split by output phase (py, px) = (oh mod s, ow mod s), only the kernel taps whose rows are
congruent to one residue mod s ever meet a real input element, and they meet it as a plain
stride-1 conv of the *original* input with that sub-kernel:

    out[f, s*a + py, s*b + px] = sum_{c, t, u} W[f, c, rh + s*t, rw + s*u] * x[c, a + t + dh, b + u + dw]

with rh = (oy - py) mod s, dh = (py + rh - oy) / s (oy: the canvas offset of x[0]; the
same along columns). Each phase is an ordinary dense conv kernel (passes/dense/plans.py's implicit
GEMM: x padded by -dh rows on top, as far as needed below) writing into a buffer of its own,
whose valid columns are copied into the output's phase-strided view. The work drops to the
real products, 1/(s*s) of the canvas conv.
"""

from __future__ import annotations

import numpy as np
from mlir import ir

from ...codegen.dense_gemm import GemmSpec, emit_gemm
from ...codegen.memref_text import memref_type as _memref
from ...codegen.memref_text import static_f32_shape as _shape
from ...target import Target
from ..utils.constants import defining_op, scalar_constant
from .epilogue import fuse_consumers
from .plans import (
    Lowering,
    Planes,
    Source,
    _call,
    _entry,
    _ints,
    constant_operand,
    dense_conv_gemm,
    plan_conv,
    read_init,
)
from .winograd import plan_winograd

__all__ = ["plan_conv_or_transposed", "spread_input"]


def spread_input(value: ir.Value) -> tuple[ir.Value, tuple[int, int], tuple[int, int]] | None:
    """(x, strides, canvas offset) if `value` is x spread with strides > 1 onto a zero canvas."""
    ins = defining_op(value, "tensor.insert_slice")
    if ins is None or len(ins.operands) != 2:
        return None
    fill = defining_op(ins.operands[1], "linalg.fill")
    if fill is None or scalar_constant(fill.operands[0]) != 0.0:
        return None
    offsets, strides = (
        _ints(ins.attributes["static_offsets"]),
        _ints(ins.attributes["static_strides"]),
    )
    x_shape = _shape(ins.operands[0])
    if x_shape is None or len(x_shape) != 4 or offsets[:2] != (0, 0) or strides[:2] != (1, 1):
        return None
    if min(offsets[2:]) < 0 or strides[2:] == (1, 1) or min(strides[2:]) < 1:
        return None
    return ins.operands[0], strides[2:], offsets[2:]


def _phase_axis(k: int, s: int, offset: int, size_in: int, size_out: int, p: int):
    """Along one axis, for output phase p: (first tap r, taps, top pad, bottom pad, outputs)
    or None when the phase needs a crop of the input (the canvas offset is smaller than p)."""
    outputs = -(-(size_out - p) // s) if size_out > p else 0
    r = (offset - p) % s
    taps = len(range(r, k, s))
    d = (p + r - offset) // s
    if d > 0 or taps == 0:
        return None
    top = -d
    bottom = max(0, outputs + taps - 1 - top - size_in)
    return r, taps, top, bottom, outputs


def plan_conv_or_transposed(
    op: ir.Operation, name: str, target: Target, groups: int
) -> Lowering | None:
    """linalg.conv_2d_nchw_fchw: split by output phase when its input is a spread canvas."""
    return (
        plan_transposed(op, name, target, groups)
        or plan_winograd(op, name, target, groups)
        or plan_conv(op, name, target, groups)
    )


def plan_transposed(op: ir.Operation, name: str, target: Target, groups: int) -> Lowering | None:
    if len(op.operands) != 3:
        return None
    spread = spread_input(op.operands[0])
    weights, _ = constant_operand(op.operands[1])
    out_shape = _shape(op.results[0])
    if spread is None or weights is None or out_shape is None:
        return None
    if "dilations" in op.attributes and _ints(op.attributes["dilations"]) != (1, 1):
        return None
    if "strides" in op.attributes and _ints(op.attributes["strides"]) != (1, 1):
        return None
    x, (sh, sw), (oy, ox) = spread
    x_shape = _shape(x)
    f, c, kh, kw = weights.shape
    _, _, oh, ow = out_shape
    if x_shape[0] != 1 or x_shape[1] != c:
        return None
    init = read_init(op.operands[2], 1, 4)
    if init.kind == "load":
        return None
    phases = []
    for py in range(sh):
        rows = _phase_axis(kh, sh, oy, x_shape[2], oh, py)
        for px in range(sw):
            cols = _phase_axis(kw, sw, ox, x_shape[3], ow, px)
            if rows is None or cols is None:
                return None  # a phase without taps, or reading before x: the canvas conv handles it
            phases.append((py, px, rows, cols))
    bias = init.bias if init.kind == "row" else np.full(f, init.value, np.float32)
    epi = fuse_consumers(op.results[0], allow_residual=False)
    weights = weights.astype(np.float32)
    lw = Lowering(entry=f"{name}_entry", text="", kind=f"convT{kh}x{kw}s{sh}")
    params = [("x", _memref(x_shape)), ("bias", _memref((f,)))]
    operands = [x, np.ascontiguousarray(bias, np.float32)]
    body, text = [], []
    for py, px, (rh, th, top, bottom, a_n), (rw, tw, left, right, b_n) in phases:
        if a_n == 0 or b_n == 0:
            continue
        tag = f"{name}_p{py}_{px}"
        sub = weights[:, :, rh::sh, rw::sw][:, :, :th, :tw]
        planes = Planes(
            Source(x, x_shape, (top, left, bottom, right)), (th, tw), (1, 1), (a_n, b_n)
        )
        b_taps = tuple(planes.tap(i, j) for i in range(th) for j in range(tw))
        spec, packed = dense_conv_gemm(
            tag, planes, sub, b_taps, target, init="row", groups=groups, epilogue=epi
        )
        text.append(emit_gemm(spec))
        text.append(
            _phase_function(tag, spec, planes, packed, f, out_shape, (py, px), (sh, sw), x_shape)
        )
        params.append((f"w{py}_{px}", _memref((packed.size,))))
        operands.append(packed.ravel())
        body.append(
            _call(
                f"{tag}_entry",
                [
                    ("%x", _memref(x_shape)),
                    (f"%w{py}_{px}", _memref((packed.size,))),
                    ("%bias", _memref((f,))),
                    ("%out", _memref(out_shape)),
                ],
            )
        )
        lw.macs += f * c * th * tw * a_n * b_n
    params.append(("out", _memref(out_shape)))
    lw.text = "".join(text) + _entry(lw.entry, params, body)
    lw.operands = operands
    lw.fused = epi.ops
    return lw


def _phase_function(
    tag: str,
    spec: GemmSpec,
    planes: Planes,
    packed: np.ndarray,
    f: int,
    out_shape,
    phase: tuple[int, int],
    strides: tuple[int, int],
    x_shape,
) -> str:
    """One phase: its planes, its kernel into a buffer, the valid columns into out's phase view."""
    (py, px), (sh, sw) = phase, strides
    _, _, oh, ow = out_shape
    a_n, b_n, wq = planes.out_hw[0], planes.out_hw[1], planes.wq
    t3, o3 = _memref((f, a_n, wq)), _memref((f, oh, ow))
    valid = _memref((f, a_n, b_n), f"strided<[{a_n * wq}, {wq}, 1]>")
    view = _memref((f, a_n, b_n), f"strided<[{oh * ow}, {sh * ow}, {sw}], offset: {py * ow + px}>")
    flat = _memref((spec.out_size,))
    body = planes.prepare("%x") + [
        f"%oflat = memref.alloc() {{alignment = 64 : i64}} : {flat}",
        _call(
            spec.name,
            [
                ("%w", _memref((packed.size,))),
                ("%bflat", _memref((planes.size,))),
                ("%bias", _memref((f,))),
                ("%oflat", flat),
            ],
        ),
        f"%t3 = memref.expand_shape %oflat [[0, 1, 2]] output_shape [{f}, {a_n}, {wq}] : {flat} into {t3}",
        f"%tv = memref.subview %t3[0, 0, 0] [{f}, {a_n}, {b_n}] [1, 1, 1] : {t3} to {valid}",
        f"%o3 = memref.collapse_shape %out [[0, 1], [2], [3]] : {_memref(out_shape)} into {o3}",
        f"%ov = memref.subview %o3[0, {py}, {px}] [{f}, {a_n}, {b_n}] [1, {sh}, {sw}] : {o3} to {view}",
        f"linalg.copy ins(%tv : {valid}) outs(%ov : {view})",
    ]
    params = [
        ("x", _memref(x_shape)),
        ("w", _memref((packed.size,))),
        ("bias", _memref((f,))),
        ("out", _memref(out_shape)),
    ]
    return _entry(f"{tag}_entry", params, body)
