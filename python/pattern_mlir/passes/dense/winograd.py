"""Dense 3x3 and 5x5 stride-1 convolutions through Winograd's F(2x2, 3x3) and F(2x2, 5x5) (codegen/winograd.py).

A dense conv runs near the FMA peak as an implicit GEMM (plans.plan_conv), so only fewer FMAs
make it faster: F(2x2, 3x3) needs 2.25 times fewer for a 3x3 kernel, F(2x2, 5x5) 2.78 times
fewer for a 5x5 one, for transforms that add, subtract and scale. The entry copies the input
into zero-padded planes, transforms it, runs the GEMMs, one per position of a transformed
tile (16 or 36: filters x channels times channels x tiles, the transformed weights packed at
compile time like the direct conv's), and transforms the products back with the bias and the
fused epilogue. A 3x3 kernel dilated by 2 runs as four undilated ones over the phases of its
input (the direct conv's strided planes). Where the channels or filters are few, the
transforms are not paid back by the GEMMs: those convs stay direct (`wins`).

The transformed weights G g G^T are not the weights: each output is the same sum in another
order, with the weights scaled by 1/2 and 1/4 and summed, so results differ from the direct
conv's by rounding (test/python/compiler/test_winograd.py checks both against torch).
"""

from __future__ import annotations

import numpy as np
from mlir import ir

from ...codegen.dense_gemm import GemmSpec, emit_gemm
from ...codegen.memref_text import memref_type as _memref
from ...codegen.memref_text import static_f32_shape as _shape
from ...codegen.winograd import (
    WinogradSpec,
    emit_input_transform,
    emit_output_transform,
    transform_weights,
)
from ...target import Target
from .epilogue import Epilogue, fuse_consumers
from .plans import (
    Lowering,
    Planes,
    _call,
    _entry,
    _ints,
    _pick_block,
    constant_operand,
    pack_conv_weights,
    read_init,
    read_source,
)

__all__ = ["plan_winograd", "wins"]

# Fewer channels or filters than this and the transforms cost more than the GEMMs save.
MIN_CHANNELS = 16
KERNELS = ((3, 3), (5, 5))


def wins(channels: int, filters: int, out_hw: tuple[int, int]) -> bool:
    """Whether a dense stride-1 conv of these sizes (a kernel of KERNELS) should run through
    Winograd's transforms."""
    return channels >= MIN_CHANNELS and filters >= MIN_CHANNELS and min(out_hw) >= 2


def plan_winograd(op: ir.Operation, name: str, target: Target, groups: int) -> Lowering | None:
    """linalg.conv_2d_nchw_fchw with constant weights of a kernel in KERNELS, stride 1,
    dilation 1 (or 2 for 3x3), batch 1, its zero padding folded in, an init that is not data,
    and sizes `wins` takes; else None."""
    if len(op.operands) != 3:
        return None
    if "strides" in op.attributes and _ints(op.attributes["strides"]) != (1, 1):
        return None
    dilation = _ints(op.attributes["dilations"]) if "dilations" in op.attributes else (1, 1)
    if dilation not in ((1, 1), (2, 2)):
        return None
    src = read_source(op.operands[0])
    weights, _ = constant_operand(op.operands[1])
    out_shape = _shape(op.results[0])
    if src is None or weights is None or out_shape is None:
        return None
    if src.shape[0] != 1 or src.pad_value != 0.0 or weights.shape[2:] not in KERNELS:
        return None
    if dilation != (1, 1) and weights.shape[2:] != (3, 3):
        return None
    init = read_init(op.operands[2], 1, 4)
    if init.kind == "load" or not wins(weights.shape[1], weights.shape[0], out_shape[2:]):
        return None
    weights = weights.astype(np.float32)
    epi = fuse_consumers(op.results[0], allow_residual=True)
    f, c = weights.shape[:2]
    oh, ow = out_shape[2], out_shape[3]
    v = target.lanes
    spec = WinogradSpec(
        name,
        c,
        f,
        (oh, ow),
        v,
        groups=groups,
        dilation=dilation[0],
        kernel=weights.shape[2],
        epilogue=epi,
        residual=epi.residual is not None,
    )
    t_count = spec.tiles
    u = transform_weights(weights)  # [positions][F][C]
    k = c
    positions = spec.positions
    mr, nv = _pick_block(target, f, t_count)
    packed = np.stack([pack_conv_weights(u[p][:, :, None, None], mr) for p in range(positions)])
    a_batch = packed[0].size
    gemm = GemmSpec(
        name=f"{name}_gemm",
        m=f,
        n=t_count,
        c=k,
        a_size=packed.size,
        b_size=spec.v_size,
        out_size=spec.m_size,
        out_stride=t_count,
        mr=mr,
        nv=nv,
        vector=v,
        a_tap=(0,),
        b_tap=(0,),
        a_cstride=mr,
        b_cstride=t_count,
        a_istride=1,
        a_panel=k * mr,
        b_panel=nv * v,
        init="zero",
        groups=groups,
        a_lanes=not target.fma_memory_operand,
        epilogue=Epilogue(),
        batch=positions,
        a_batch=a_batch,
        b_batch=k * t_count,
        out_batch=f * t_count,
    )
    bias = init.bias if init.kind == "row" else np.full(f, init.value, np.float32)
    hq, wq = spec.plane_hw
    d = spec.dilation
    # Phase (py, px) of the padded input, planes [C][phases][hq][wq]: the layout the direct
    # conv's strided planes have, with room for the tiles and the loads past the last one.
    planes = Planes(src, (1, 1), (d, d), (hq, wq))
    count = c * spec.phases * hq * wq
    view = _memref((c * spec.phases, hq, wq))
    flat = _memref((count,), "strided<[1]>")
    out_flat = _memref((spec.out_size,))
    params = [
        ("x", _memref(src.shape)),
        ("u", _memref((packed.size,))),
        ("bias", _memref((f,))),
    ]
    operands = [src.value, packed.ravel(), np.ascontiguousarray(bias, np.float32)]
    body = [
        "%zero = arith.constant 0.0 : f32",
        f"%pbuf = memref.alloc() {{alignment = 64 : i64}} : {_memref((spec.planes_size,))}",
        f"linalg.fill ins(%zero : f32) outs(%pbuf : {_memref((spec.planes_size,))})",
        f"%pflat = memref.subview %pbuf[0] [{count}] [1] : {_memref((spec.planes_size,))} to {flat}",
        f"%p3 = memref.expand_shape %pflat [[0, 1, 2]] output_shape [{c * spec.phases}, {hq}, {wq}] : {flat} into {view}",
        *planes.copy_into("%x", "%p3", hq, wq),
        f"%vbuf = memref.alloc() {{alignment = 64 : i64}} : {_memref((spec.v_size,))}",
        _call(
            f"{name}_in",
            [("%pbuf", _memref((spec.planes_size,))), ("%vbuf", _memref((spec.v_size,)))],
        ),
        f"%mbuf = memref.alloc() {{alignment = 64 : i64}} : {_memref((spec.m_size,))}",
        _call(
            gemm.name,
            [
                ("%u", _memref((packed.size,))),
                ("%vbuf", _memref((spec.v_size,))),
                ("%mbuf", _memref((spec.m_size,))),
            ],
        ),
    ]
    out_args = [("%mbuf", _memref((spec.m_size,))), ("%bias", _memref((f,)))]
    if epi.residual is not None:
        params.append(("res", _memref(out_shape)))
        operands.append(epi.residual)
        body.append(
            f"%rflat = memref.collapse_shape %res [[0, 1, 2, 3]] : {_memref(out_shape)} into {out_flat}"
        )
        out_args.append(("%rflat", out_flat))
    params.append(("out", _memref(out_shape)))
    body.append(
        f"%oflat = memref.collapse_shape %out [[0, 1, 2, 3]] : {_memref(out_shape)} into {out_flat}"
    )
    out_args.append(("%oflat", out_flat))
    body.append(_call(f"{name}_out", out_args))
    text = (
        emit_input_transform(spec)
        + emit_gemm(gemm)
        + emit_output_transform(spec)
        + _entry(f"{name}_entry", params, body)
    )
    return Lowering(
        entry=f"{name}_entry",
        text=text,
        operands=operands,
        kind=f"conv{weights.shape[2]}x{weights.shape[3]}s1-winograd",
        macs=f * c * weights.shape[2] * weights.shape[3] * oh * ow,
        fused=epi.ops,
    )
