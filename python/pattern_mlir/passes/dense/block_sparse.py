"""Plans for the block-sparse ops: generated GEMM kernels that walk a block stream.

Both ops become the dense GEMM kernel of dense_gemm.py with its reduction loop running over
the stream entries of one block (`GemmSpec.stream`) instead of every input channel, so
each kept block costs what a dense channel costs and removed blocks cost nothing:

* `pattern.block_conv2d`: an implicit GEMM over the conv's input planes exactly like a
  dense conv (plans.plan_conv): rows are output channels, the vector runs along
  output pixels, weights are broadcast. The A operand is the stream (K x taps x R); a
  register block of `mr` rows (mr divides R) reads rows m0 % R.. of each entry and the
  input plane of the entry's channel.
* `pattern.block_matmul` over many rows (tokens, at least two vectors' worth): computed
  transposed like a 1x1 block conv, outputs as rows and the vector along tokens, the input
  and the result transposed in the entry by transpose_kernel.py.
* `pattern.block_matmul` over few rows (a batch-1 linear, a recurrent step): rows are the
  input's rows, the vector runs along output features, one block of R outputs being one
  column tile (one 8-lane vector; two on NEON, a 256-bit one on AVX-512), so it still runs
  whole vectors. The B operand is the stream (K x R); A, transposed in the entry, is read
  at the entry's channel, and the entries are dealt to several accumulator sets.

Elementwise consumers are fused into the stores as for the dense kernels.
"""

from __future__ import annotations

import numpy as np
from mlir import ir

from ...codegen.dense_gemm import GemmSpec, emit_gemm
from ...codegen.memref_text import memref_type as _memref
from ...codegen.memref_text import static_f32_shape as _shape
from ...codegen.transpose_kernel import emit_transpose
from ...target import Target
from ..utils.constants import constant_array
from .epilogue import fuse_consumers
from .plans import (
    Init,
    Lowering,
    Planes,
    Source,
    _call,
    _entry,
    _finish_conv,
    implicit_gemm_spec,
)

__all__ = ["plan_block_conv", "plan_block_matmul"]


def _ints(op: ir.Operation, name: str) -> list[int]:
    return [int(v) for v in op.attributes[name]]


def _stream(op: ir.Operation) -> tuple[int, np.ndarray, np.ndarray, np.ndarray] | None:
    """(R, offsets, channels, weights) of a block op with a constant weight stream.

    An empty stream (every block removed) gets one zero entry that no block reads, so no
    buffer has zero elements."""
    weights = constant_array(op.operands[1])
    if weights is None:
        return None
    rows = ir.IntegerAttr(op.attributes["block_rows"]).value
    offsets = np.asarray(_ints(op, "offsets"), np.int32)
    channels = np.asarray(_ints(op, "channels"), np.int32)
    weights = np.ascontiguousarray(weights, np.float32)
    if channels.size == 0:
        channels = np.zeros(1, np.int32)
        weights = np.zeros((1, *weights.shape[1:]), np.float32)
    return rows, offsets, channels, weights


def _bias(op: ir.Operation) -> np.ndarray | None | bool:
    """The constant bias operand, None without one, False when it is not a constant."""
    if len(op.operands) < 3:
        return None
    bias = constant_array(op.operands[2])
    return False if bias is None else np.ascontiguousarray(bias, np.float32)


def _conv_block(target: Target, rows: int, n: int) -> tuple[int, int]:
    """Register block (mr, nv) with mr dividing the weight block height R.

    The tallest such mr that still leaves two or more vectors per row within the target's
    accumulators (fewer loads per FMA); a single-vector block only when nothing else fits."""
    accumulators = target.gemm_accumulators
    divisors = [d for d in range(min(rows, 12), 0, -1) if rows % d == 0]
    mr = next((d for d in divisors if accumulators // d >= 2), divisors[-1])
    nv = max(1, min(accumulators // mr, -(-n // target.lanes)))
    return mr, nv


def plan_block_conv(op: ir.Operation, name: str, target: Target, groups: int) -> Lowering | None:
    """pattern.block_conv2d with a constant stream, batch 1."""
    stream, bias = _stream(op), _bias(op)
    in_shape, out_shape = _shape(op.operands[0]), _shape(op.results[0])
    if stream is None or bias is False or in_shape is None or out_shape is None or in_shape[0] != 1:
        return None
    rows, offsets, channels, weights = stream
    kh, kw = _ints(op, "kernel")
    dh, dw = _ints(op, "dilations")
    strides = tuple(_ints(op, "strides"))
    top, left, bottom, right = _ints(op, "padding")
    _, f, oh, ow = out_shape
    src = Source(op.operands[0], in_shape, (top, left, bottom, right))
    planes = Planes(src, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), strides, (oh, ow))
    b_taps = tuple(planes.tap(i * dh, j * dw) for i in range(kh) for j in range(kw))
    taps = kh * kw
    mr, nv = _conv_block(target, rows, planes.n)
    epi = fuse_consumers(op.results[0], allow_residual=not planes.compact)
    spec = implicit_gemm_spec(
        name,
        planes,
        f,
        in_shape[1],
        b_taps,
        (mr, nv),
        target,
        a_size=weights.size,
        a_rows=rows,
        a_panel=0,
        init="row" if bias is not None else "zero",
        groups=groups,
        epilogue=epi,
        stream="a",
        stream_rows=rows,
        stream_blocks=offsets.size - 1,
        stream_size=channels.size,
    )
    kept = int(offsets[-1])
    lw = Lowering(
        entry=f"{name}_entry",
        text="",
        kind=f"block{kh}x{kw}s{strides[0]}",
        macs=kept * rows * taps * oh * ow,
    )
    return _finish_conv(
        lw,
        spec,
        planes,
        weights,
        bias,
        Init("row" if bias is not None else "zero"),
        out_shape,
        epi,
        indices=(offsets, channels),
    )


def plan_block_matmul(op: ir.Operation, name: str, target: Target, groups: int) -> Lowering | None:
    """pattern.block_matmul with a constant stream: M x C activations times the stream."""
    stream, bias = _stream(op), _bias(op)
    a_shape, out_shape = _shape(op.operands[0]), _shape(op.results[0])
    if stream is None or bias is False or a_shape is None or out_shape is None:
        return None
    rows, offsets, channels, weights = stream
    m, c = a_shape
    n = out_shape[1]
    if m >= 2 * target.lanes:
        return _block_matmul_by_tokens(op, name, target, groups, stream, bias, a_shape, out_shape)
    vector = min(target.lanes, rows)
    nv = rows // vector
    tiles = offsets.size - 1
    # Register count, not width, bounds the accumulators: 8-lane vectors on AVX-512 count as many.
    mr = max(1, min(m, target.gemm_accumulators // nv, 12))
    # Few rows (a batch-1 linear, an LSTM step) leave few FMA chains: deal the stream entries
    # to several accumulator sets, as many as cover the FMAs in flight and fit the registers.
    chains = mr * nv
    split = max(
        1, min(4, -(-target.fma_in_flight // chains), (target.vector_registers - nv - 2) // chains)
    )
    epi = fuse_consumers(op.results[0], allow_residual=True)
    # The input is read transposed (C x M, made in the entry): the rows of a register block
    # at one channel are then adjacent, one cache line, instead of mr lines C apart.
    spec = GemmSpec(
        name=name,
        m=m,
        n=n,
        c=c,
        a_size=m * c,
        b_size=weights.size,
        out_size=m * n,
        out_stride=n,
        mr=mr,
        nv=nv,
        vector=vector,
        a_tap=(0,),
        b_tap=(0,),
        a_cstride=m,
        b_cstride=rows,
        a_istride=1,
        a_panel=mr,
        b_panel=0,
        b_padded=True,
        init="col" if bias is not None else "zero",
        bias_size=tiles * rows,
        a_lanes=not target.fma_memory_operand,
        epilogue=epi,
        residual=epi.residual is not None,
        groups=groups,
        stream="b",
        stream_rows=rows,
        stream_blocks=tiles,
        stream_size=channels.size,
        stream_split=split,
        group_bounds=_balanced_bounds(offsets, n // rows, groups),
    )
    flat_a, flat_out = _memref((m * c,)), _memref((m * n,))
    params = [
        ("x", _memref(a_shape)),
        ("bp", _memref((weights.size,))),
        ("off", _memref(offsets.shape, element="i32")),
        ("chan", _memref(channels.shape, element="i32")),
    ]
    operands = [op.operands[0], weights.ravel(), offsets, channels]
    call_args = [
        ("%aflat", flat_a),
        ("%bp", _memref((weights.size,))),
        ("%off", _memref(offsets.shape, element="i32")),
        ("%chan", _memref(channels.shape, element="i32")),
    ]
    if bias is not None:
        padded = np.zeros(tiles * rows, np.float32)
        padded[:n] = bias
        params.append(("bias", _memref(padded.shape)))
        operands.append(padded)
        call_args.append(("%bias", _memref(padded.shape)))
    body = [f"%aflat = memref.collapse_shape %x [[0, 1]] : {_memref(a_shape)} into {flat_a}"]
    transpose = ""
    if m > 1:
        body = [
            f"%xflat = memref.collapse_shape %x [[0, 1]] : {_memref(a_shape)} into {flat_a}",
            f"%aflat = memref.alloc() {{alignment = 64 : i64}} : {flat_a}",
            _call(f"{name}_tin", [("%xflat", flat_a), ("%aflat", flat_a)]),
        ]
        transpose = emit_transpose(f"{name}_tin", m, c)
    if epi.residual is not None:
        params.append(("res", _memref(out_shape)))
        operands.append(epi.residual)
        call_args.append(("%rflat", flat_out))
        body.append(
            f"%rflat = memref.collapse_shape %res [[0, 1]] : {_memref(out_shape)} into {flat_out}"
        )
    params.append(("out", _memref(out_shape)))
    call_args.append(("%oflat", flat_out))
    body.append(
        f"%oflat = memref.collapse_shape %out [[0, 1]] : {_memref(out_shape)} into {flat_out}"
    )
    body.append(_call(name, call_args))
    entry = f"{name}_entry"
    return Lowering(
        entry=entry,
        text=emit_gemm(spec) + transpose + _entry(entry, params, body),
        operands=operands,
        kind="block-matmul",
        macs=int(offsets[-1]) * rows * m,
        fused=epi.ops,
    )


def _block_matmul_by_tokens(
    op, name, target: Target, groups: int, stream, bias, a_shape, out_shape
) -> Lowering:
    """A block matmul over many rows (tokens) computed transposed, as a 1x1 block conv would be.

    out^T = W x^T: outputs are the rows, weights are broadcast from the stream (register
    blocks of 4 or 8 rows dividing R) and the vector runs along tokens at the target's full
    width, read from the input transposed once in the entry (C x M). The result is written
    N x M into a scratch buffer and transposed into place; elementwise consumers commute with
    that and are fused, a residual (which would need reading transposed) is not."""
    rows, offsets, channels, weights = stream
    m, c = a_shape
    n = out_shape[1]
    mr, nv = _conv_block(target, rows, m)
    epi = fuse_consumers(op.results[0], allow_residual=False)
    spec = GemmSpec(
        name=name,
        m=n,
        n=m,
        c=c,
        a_size=weights.size,
        b_size=m * c,
        out_size=m * n,
        out_stride=m,
        mr=mr,
        nv=nv,
        vector=target.lanes,
        a_tap=(0,),
        b_tap=(0,),
        a_cstride=rows,
        b_cstride=m,
        a_istride=1,
        a_panel=0,
        b_panel=nv * target.lanes,
        init="row" if bias is not None else "zero",
        bias_size=n,
        a_lanes=not target.fma_memory_operand,
        epilogue=epi,
        groups=groups,
        stream="a",
        stream_rows=rows,
        stream_blocks=offsets.size - 1,
        stream_size=channels.size,
    )
    flat = _memref((m * c,))
    i32 = {"element": "i32"}
    params = [
        ("x", _memref(a_shape)),
        ("a", _memref((weights.size,))),
        ("off", _memref(offsets.shape, **i32)),
        ("chan", _memref(channels.shape, **i32)),
    ]
    operands = [op.operands[0], weights.ravel(), offsets, channels]
    call_args = [
        ("%a", _memref((weights.size,))),
        ("%xtflat", flat),
        ("%off", _memref(offsets.shape, **i32)),
        ("%chan", _memref(channels.shape, **i32)),
    ]
    if bias is not None:
        params.append(("bias", _memref((n,))))
        operands.append(bias)
        call_args.append(("%bias", _memref((n,))))
    params.append(("out", _memref(out_shape)))
    call_args.append(("%otflat", _memref((m * n,))))
    out_flat = _memref((m * n,))
    body = [
        f"%xflat = memref.collapse_shape %x [[0, 1]] : {_memref(a_shape)} into {flat}",
        f"%xtflat = memref.alloc() {{alignment = 64 : i64}} : {flat}",
        _call(f"{name}_tin", [("%xflat", flat), ("%xtflat", flat)]),
        f"%otflat = memref.alloc() {{alignment = 64 : i64}} : {out_flat}",
        _call(name, call_args),
        f"%oflat = memref.collapse_shape %out [[0, 1]] : {_memref(out_shape)} into {out_flat}",
        _call(f"{name}_tout", [("%otflat", out_flat), ("%oflat", out_flat)]),
    ]
    entry = f"{name}_entry"
    text = (
        emit_gemm(spec) + emit_transpose(f"{name}_tin", m, c) + emit_transpose(f"{name}_tout", n, m)
    )
    return Lowering(
        entry=entry,
        text=text + _entry(entry, params, body),
        operands=operands,
        kind="block-matmul-t",
        macs=int(offsets[-1]) * rows * m,
        fused=epi.ops,
    )


def _balanced_bounds(offsets: np.ndarray, full_tiles: int, groups: int) -> tuple[int, ...]:
    """Where each of the thread groups starts among the full column tiles, by kept entries.

    Tiles (blocks of outputs) keep different numbers of stream entries; equal counts of tiles
    per thread would leave the threads with the lighter tiles waiting. Each group gets the
    tiles up to its share of the entries (each tile counts at least one, for its stores).
    Empty for one group or when the split would not divide tiles (the emitter's default)."""
    groups = max(1, min(groups, full_tiles))
    if groups == 1:
        return ()
    work = np.maximum(np.diff(offsets[: full_tiles + 1]).astype(np.int64), 1)
    cumulative = np.concatenate([[0], np.cumsum(work)])
    targets = cumulative[-1] * np.arange(groups + 1) / groups
    above = np.searchsorted(cumulative, targets, side="left").clip(0, full_tiles)
    below = (above - 1).clip(0, full_tiles)
    # The tile boundary nearest to each group's share.
    bounds = np.where(targets - cumulative[below] <= cumulative[above] - targets, below, above)
    bounds[0], bounds[-1] = 0, full_tiles
    return tuple(int(b) for b in np.maximum.accumulate(bounds))
