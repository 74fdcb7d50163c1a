"""Plans for the dense ops pattern-vectorize-dense turns into generated kernels.

Each `plan_*` function reads one linalg op on tensors and returns a `Lowering`: the text of a
kernel (dense_gemm / dense_stencil) plus an entry function over memrefs that prepares its
operands, and the operands the call site passes (tensors to view as buffers, or numpy arrays
that become constants: weights packed for the kernel at compile time). It returns None for
what it does not handle (the op then goes through the transform-dialect path).

Input layout (`Planes`): the input of a convolution or pooling, with its zero (or -inf)
padding folded in from a producing `tensor.pad`, is written into `sh * sw` phase planes per
channel of `hq x wq` elements: plane (py, px) holds padded rows py, py+sh, ... and columns
px, px+sw, .... Window tap (kh, kw) of output position (oh, ow) then reads plane
(kh % sh, kw % sw) at row oh + kh // sh, column ow + kw // sw, that is at flat offset
`tap + n` with n = oh * wq + ow. Every tap is one contiguous vector load and the output is
computed at flat positions n < (oh_count - 1) * wq + ow_count; when wq > ow_count the
columns in between are junk and the entry copies the valid ones out (`compact`). A stride-1
input that needs no padding is read in place.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from mlir import ir

from ...codegen.dense_gemm import GemmSpec, emit_gemm, f32_literal
from ...codegen.dense_stencil import StencilSpec, emit_stencil, phase_plane_hw
from ...codegen.memref_text import memref_type as _memref
from ...codegen.memref_text import static_f32_shape as _shape
from ...target import Target
from ..utils.constants import constant_array, defining_op, scalar_constant
from .contraction import plan_contraction
from .epilogue import Epilogue, fuse_consumers

__all__ = ["Lowering", "plan_conv", "plan_depthwise", "plan_matmul", "plan_pool"]

_PAGE_BYTES = 4096  # planes this far apart are separate streams to the hardware prefetchers


@dataclass
class Lowering:
    """Generated functions and the call that replaces one op."""

    entry: str  # name of the entry function
    text: str  # kernel + entry function text
    operands: list = field(default_factory=list)  # ir.Value (tensor) or np.ndarray (constant)
    kind: str = ""
    macs: int = 0
    fused: list = field(
        default_factory=list
    )  # elementwise consumers folded into the kernel, in order


def _ints(attr) -> tuple[int, ...]:
    return tuple(int(v) for v in attr)


# ----- operands ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """An NCHW input with the spatial padding a tensor.pad producer adds (folded)."""

    value: ir.Value
    shape: tuple[int, int, int, int]
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    pad_value: float = 0.0
    pad_op: ir.Operation | None = None


def read_source(value: ir.Value) -> Source | None:
    shape = _shape(value)
    if shape is None or len(shape) != 4:
        return None
    pad = defining_op(value, "tensor.pad")
    if pad is not None:
        low = _ints(pad.attributes["static_low"])
        high = _ints(pad.attributes["static_high"])
        block = pad.regions[0].blocks[0]
        yielded = list(block.operations)[-1].operands[0]
        pad_value = scalar_constant(yielded)
        src_shape = _shape(pad.operands[0])
        if (
            len(pad.operands) == 1
            and pad_value is not None
            and src_shape is not None
            and low[:2] == (0, 0)
            and high[:2] == (0, 0)
            and min(low + high) >= 0
        ):
            return Source(
                pad.operands[0],
                src_shape,
                (low[2], low[3], high[2], high[3]),
                float(pad_value),
                pad,
            )
    return Source(value, shape)


@dataclass(frozen=True)
class Init:
    kind: str  # zero | const | row | load
    value: float = 0.0
    bias: np.ndarray | None = None
    tensor: ir.Value | None = None
    producer: ir.Operation | None = None


def read_init(value: ir.Value, rows_dim: int, rank: int) -> Init:
    """The init of an op's output: a fill, a broadcast constant vector along `rows_dim`, or data."""
    fill = defining_op(value, "linalg.fill")
    if fill is not None:
        c = scalar_constant(fill.operands[0])
        if c is not None:
            return Init("zero" if c == 0.0 else "const", float(c), producer=fill)
    bcast = defining_op(value, "linalg.broadcast")
    if bcast is not None:
        dims = _ints(bcast.attributes["dimensions"])
        bias = constant_array(bcast.operands[0])
        if (
            bias is not None
            and bias.ndim == 1
            and dims == tuple(d for d in range(rank) if d != rows_dim)
        ):
            return Init("row", bias=bias.astype(np.float32), producer=bcast)
    return Init("load", tensor=value)


# ----- planes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planes:
    src: Source
    kernel: tuple[int, int]
    strides: tuple[int, int]
    out_hw: tuple[int, int]

    @property
    def channels(self) -> int:
        return self.src.shape[1]

    @property
    def direct(self) -> bool:
        """The input is read in place: stride 1 and nothing to pad."""
        return self.strides == (1, 1) and self.src.pads == (0, 0, 0, 0)

    @property
    def phases(self) -> int:
        return self.strides[0] * self.strides[1]

    @property
    def hq(self) -> int:
        return self._plane_hw[0]

    @property
    def wq(self) -> int:
        return self._plane_hw[1]

    @property
    def _plane_hw(self) -> tuple[int, int]:
        return phase_plane_hw(
            self.src.shape[2:], self.out_hw, self.kernel, self.strides, self.direct
        )

    @property
    def plane(self) -> int:
        return self.hq * self.wq

    @property
    def channel_stride(self) -> int:
        return self.phases * self.plane

    @property
    def size(self) -> int:
        return self.channels * self.channel_stride

    @property
    def n(self) -> int:
        return (self.out_hw[0] - 1) * self.wq + self.out_hw[1]

    @property
    def compact(self) -> bool:
        return self.wq != self.out_hw[1]

    def tap(self, kh: int, kw: int) -> int:
        sh, sw = self.strides
        return ((kh % sh) * sw + kw % sw) * self.plane + (kh // sh) * self.wq + kw // sw

    def prepare(self, x: str) -> list[str]:
        """Entry lines defining %bflat (the planes, flat) from the input memref `x`."""
        if self.direct:
            return [
                f"%bflat = memref.collapse_shape {x} [[0, 1, 2, 3]] : {_memref(self.src.shape)} "
                f"into {_memref((self.size,))}"
            ]
        buf_shape = (self.channels * self.phases, self.hq, self.wq)
        lines = [
            f"%pad = arith.constant {_f32(self.src.pad_value)} : f32",
            f"%buf = memref.alloc() {{alignment = 64 : i64}} : {_memref(buf_shape)}",
            f"linalg.fill ins(%pad : f32) outs(%buf : {_memref(buf_shape)})",
            *self.copy_into(x, "%buf", self.hq, self.wq),
        ]
        lines.append(
            f"%bflat = memref.collapse_shape %buf [[0, 1, 2]] : {_memref(buf_shape)} into {_memref((self.size,))}"
        )
        return lines

    def copy_into(self, x: str, buf: str, hq: int, wq: int) -> list[str]:
        """Entry lines copying the input memref `x` into the phase planes `buf`, a memref of
        shape (channels * phases, hq, wq) already filled with the padding value (planes as
        large as these planes' or larger)."""
        _, c, h, w = self.src.shape
        sh, sw = self.strides
        top, left = self.src.pads[0], self.src.pads[1]
        buf_shape = (c * self.phases, hq, wq)
        lines = [
            f"%x3 = memref.collapse_shape {x} [[0, 1], [2], [3]] : {_memref(self.src.shape)} into {_memref((c, h, w))}",
        ]
        for py in range(sh):
            i0 = max(0, -(-(top - py) // sh))
            i1 = min(hq - 1, (h - 1 + top - py) // sh)
            for px in range(sw):
                j0 = max(0, -(-(left - px) // sw))
                j1 = min(wq - 1, (w - 1 + left - px) // sw)
                if i0 > i1 or j0 > j1:
                    continue
                rows, cols = i1 - i0 + 1, j1 - j0 + 1
                r0, c0 = i0 * sh + py - top, j0 * sw + px - left
                p = py * sw + px
                tag = f"{py}_{px}"
                src_t = _memref(
                    (c, rows, cols), f"strided<[{h * w}, {sh * w}, {sw}], offset: {r0 * w + c0}>"
                )
                dst_t = _memref(
                    (c, rows, cols),
                    f"strided<[{self.phases * hq * wq}, {wq}, 1], offset: {p * hq * wq + i0 * wq + j0}>",
                )
                lines += [
                    f"%src{tag} = memref.subview %x3[0, {r0}, {c0}] [{c}, {rows}, {cols}] [1, {sh}, {sw}] : "
                    f"{_memref((c, h, w))} to {src_t}",
                    f"%dst{tag} = memref.subview {buf}[{p}, {i0}, {j0}] [{c}, {rows}, {cols}] [{self.phases}, 1, 1] : "
                    f"{_memref(buf_shape)} to {dst_t}",
                    f"linalg.copy ins(%src{tag} : {src_t}) outs(%dst{tag} : {dst_t})",
                ]
        return lines


def _f32(value: float) -> str:
    return f32_literal(value)


# ----- output handling -------------------------------------------------------------------------


def _output_lines(
    out_shape, rows: int, oh: int, ow: int, wq: int, init: Init, compact: bool
) -> tuple[list, list]:
    """(lines before the kernel call defining %oflat, lines after it) for an NCHW output."""
    size = rows * oh * wq
    before, after = [], []
    o3 = _memref((rows, oh, ow))
    if not compact:
        before.append(
            f"%oflat = memref.collapse_shape %out [[0, 1, 2, 3]] : {_memref(out_shape)} into {_memref((size,))}"
        )
        if init.kind == "load":
            before.insert(
                0,
                f"linalg.copy ins(%init : {_memref(out_shape)}) outs(%out : {_memref(out_shape)})",
            )
        return before, after
    t3 = _memref((rows, oh, wq))
    view = _memref((rows, oh, ow), f"strided<[{oh * wq}, {wq}, 1]>")
    before += [
        f"%oflat = memref.alloc() {{alignment = 64 : i64}} : {_memref((size,))}",
        f"%t3 = memref.expand_shape %oflat [[0, 1, 2]] output_shape [{rows}, {oh}, {wq}] : {_memref((size,))} into {t3}",
        f"%tv = memref.subview %t3[0, 0, 0] [{rows}, {oh}, {ow}] [1, 1, 1] : {t3} to {view}",
        f"%o3 = memref.collapse_shape %out [[0, 1], [2], [3]] : {_memref(out_shape)} into {o3}",
    ]
    if init.kind == "load":
        before += [
            f"%i3 = memref.collapse_shape %init [[0, 1], [2], [3]] : {_memref(out_shape)} into {o3}",
            f"linalg.copy ins(%i3 : {o3}) outs(%tv : {view})",
        ]
    after.append(f"linalg.copy ins(%tv : {view}) outs(%o3 : {o3})")
    return before, after


def _entry(name: str, params: list[tuple[str, str]], body: list[str]) -> str:
    args = ", ".join(f"%{n}: {t}" for n, t in params)
    inner = "\n  ".join(body + ["return"])
    return f"func.func private @{name}({args}) {{\n  {inner}\n}}\n"


def _call(kernel: str, args: list[tuple[str, str]]) -> str:
    names = ", ".join(a for a, _ in args)
    types = ", ".join(t for _, t in args)
    return f"func.call @{kernel}({names}) : ({types}) -> ()"


# ----- convolution ------------------------------------------------------------------------------


def _lane_use(count: int, lanes: int) -> float:
    """The share of vector lanes doing useful work when `count` elements run in vectors."""
    return count / (-(-count // lanes) * lanes)


def _filters_fill_lanes_better(pixels: int, filters: int, lanes: int) -> bool:
    """Whether a 1x1 conv should run as pixels x filters, filters along the vector: on a
    tiny image, or where the pixels leave a tenth or more of the lanes idle and the filters
    fewer (a 7x7 map in 16 lanes is 4 vectors for 49 pixels: 77 % of the FMAs useful)."""
    if pixels * 2 <= lanes:
        return True
    return _lane_use(pixels, lanes) < 0.9 and _lane_use(filters, lanes) > _lane_use(pixels, lanes)


def _filters_skip_row_gaps(planes: Planes, ow: int, filters: int, lanes: int, rows: int) -> bool:
    """Whether a KxK conv should run as pixels x filters, a GEMM per output row: along the
    pixels, a vector computes the (kw - 1) * dilation columns between the planes' rows too
    (a 5x5 kernel on a 56-wide map: 4 of every 60). Where the filters fill their vectors
    more than 5 points better than the pixels do: the pixel-row form pays for its short
    last register block and its lane-by-lane stores (measured, docs/design.md, section 2: a
    3x3 on 56 columns, 3 % better in lanes, runs slower; 5x5 and dilation 2 on 56 columns, 7 %
    better, run faster)."""
    if planes.wq == ow or ow < 2 * rows:
        return False  # no columns between rows (1x1 convs have their own rule); short rows
    pixels = (1 - (planes.wq - ow) / planes.wq) * _lane_use(planes.n, lanes)
    return _lane_use(filters, lanes) - pixels > 0.05


def _packing_pays(
    plane_bytes: int, filters: int, channels: int, tile: int, mr: int, l1d_bytes: int
) -> bool:
    """Whether a 1x1 conv should copy each column tile of its input into a packed scratch
    tile (GemmSpec.pack_b), for the row blocks that re-read it to find it in cache:

    * planes a whole number of pages apart, 32 KiB or more, put every channel's run of a
      tile in the same cache sets, and the tile falls out of L1 and L2; with at least three
      filters per channel it is re-read often enough for the copy to pay;
    * a tile that fits L1 packed but not in place (each channel's run of a tile touches a
      cache line more than its length when it starts mid-line), re-read by four row blocks
      or more (`tile` floats wide, `mr` filters a block): AVX2's 24-float tiles of 256
      channels (docs/design.md).

    Elsewhere the copy costs more than it saves."""
    pages = (
        plane_bytes % _PAGE_BYTES == 0
        and plane_bytes >= 8 * _PAGE_BYTES
        and filters >= 3 * channels
    )
    tile_bytes = tile * 4
    # Runs start mid-line unless tiles and planes are whole lines.
    mid_line = (tile_bytes % 64 != 0) or (plane_bytes % 64 != 0)
    in_place = channels * (-(-tile_bytes // 64) + mid_line) * 64
    fits_packed = channels * tile_bytes <= l1d_bytes < in_place
    return pages or (fits_packed and filters >= 4 * mr)


def _reduction_chunk(channels: int, row_bytes: int, mr: int, rows: int, l1d_bytes: int) -> int:
    """Channels per reduction chunk (a multiple of 8; GemmSpec.k_chunk counts steps of the
    reduction, so the caller divides by the channels per step) of a GEMM whose B panel takes
    `row_bytes` per channel, contiguous, and is re-read by every register block of `mr` of
    its `rows` rows; 0 where the whole panel stays in L1, one block reads it, or the blocks
    are tall enough for L2 to keep up. A chunk of a quarter of L1 measured best. On Zen 4,
    pixels x filters on 7x7 maps, AVX2's 4-row blocks ran faster chunked, alone and inside
    ResNet-50; AVX-512's 6-row blocks ran slower, so 6 rows and more stay whole (measured:
    docs/design.md, section 2)."""
    if mr >= 6 or rows <= mr or channels * row_bytes <= l1d_bytes:
        return 0
    chunk = l1d_bytes // 4 // row_bytes // 8 * 8
    return chunk if 0 < chunk < channels else 0


def _pick_block(target: Target, rows: int, n: int) -> tuple[int, int]:
    """Register block (mr, nv): the target's, with fewer vectors when n is short."""
    mr, nv = target.gemm_block
    nv = min(nv, -(-n // target.lanes))
    mr = min(rows, max(mr, (mr * target.gemm_block[1]) // nv))
    mr = min(mr, 12)
    return mr, nv


def plan_conv(op: ir.Operation, name: str, target: Target, groups: int) -> Lowering | None:
    """linalg.conv_2d_nchw_fchw with constant weights, batch 1.

    A dilated kernel reads its taps as a kernel of the dilated extent would (the planes are
    laid out for that extent), at every dilation-th position."""
    if len(op.operands) != 3:
        return None
    src = read_source(op.operands[0])
    weights, _ = constant_operand(op.operands[1])
    out_shape = _shape(op.results[0])
    if (
        src is None
        or weights is None
        or out_shape is None
        or src.shape[0] != 1
        or src.pad_value != 0.0
    ):
        return None
    dh, dw = _ints(op.attributes["dilations"]) if "dilations" in op.attributes else (1, 1)
    strides = _ints(op.attributes["strides"]) if "strides" in op.attributes else (1, 1)
    f, c, kh, kw = weights.shape
    _, _, oh, ow = out_shape
    planes = Planes(src, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), strides, (oh, ow))
    b_taps = tuple(planes.tap(i * dh, j * dw) for i in range(kh) for j in range(kw))
    init = read_init(op.operands[2], 1, 4)
    weights = weights.astype(np.float32)
    lw = Lowering(
        entry=f"{name}_entry",
        text="",
        kind=f"conv{kh}x{kw}s{strides[0]}",
        macs=f * c * kh * kw * oh * ow,
    )
    v = target.lanes
    n = planes.n
    if kh == kw == 1 and f >= v and init.kind != "load" and _filters_fill_lanes_better(n, f, v):
        epi = fuse_consumers(op.results[0], allow_residual=True)
        return _conv_transposed(lw, name, planes, weights, init, out_shape, target, groups, epi)
    if init.kind != "load" and _filters_skip_row_gaps(
        planes, ow, f, v, _filter_block(target, f)[1]
    ):
        epi = fuse_consumers(op.results[0], allow_residual=True)
        return _conv_transposed(
            lw, name, planes, weights, init, out_shape, target, groups, epi, b_taps
        )
    epi = fuse_consumers(op.results[0], allow_residual=not planes.compact)
    init_kind = "row" if init.kind in ("row", "zero", "const") else "load"
    bias = None
    if init_kind == "row":
        bias = init.bias if init.kind == "row" else np.full(f, init.value, np.float32)
    spec, packed = dense_conv_gemm(
        name,
        planes,
        weights,
        b_taps,
        target,
        init=init_kind,
        groups=groups,
        epilogue=epi,
        unroll_c=2 if kh * kw == 1 and c % 2 == 0 else 1,
    )
    if kh * kw == 1:
        # Planes a page or more apart are as many streams as channels: see
        # GemmSpec.prefetch_b; when to pack: `_packing_pays`.
        plane_bytes = planes.channel_stride * 4
        paged = plane_bytes >= _PAGE_BYTES
        pack = _packing_pays(plane_bytes, f, c, spec.tile, spec.mr, target.l1d_bytes)
        spec = dataclasses.replace(spec, prefetch_b=spec.b_panel if paged else 0, pack_b=pack)
    return _finish_conv(lw, spec, planes, packed, bias, init, out_shape, epi)


def pack_conv_weights(weights: np.ndarray, mr: int) -> np.ndarray:
    """[F][C][KH][KW] -> [F/mr][C][T][mr], the last block padded with zero rows: the mr
    weights one tap of one channel multiplies are adjacent (one broadcast load per FMA row)."""
    f, c = weights.shape[:2]
    taps = weights[0, 0].size
    blocks = -(-f // mr)
    packed = np.zeros((blocks * mr, c, taps), np.float32)
    packed[:f] = weights.reshape(f, c, taps)
    return packed.reshape(blocks, mr, c, taps).transpose(0, 2, 3, 1).copy()


def dense_conv_gemm(
    name: str,
    planes: Planes,
    weights: np.ndarray,
    b_taps: tuple[int, ...],
    target: Target,
    **fields,
) -> tuple[GemmSpec, np.ndarray]:
    """A dense conv's implicit GEMM: the target's register block for its filters and output
    positions, the weights packed for it, the spec (`fields`: init, groups, epilogue, ...)."""
    f, c = weights.shape[:2]
    mr, nv = _pick_block(target, f, planes.n)
    packed = pack_conv_weights(weights, mr)
    spec = implicit_gemm_spec(
        name,
        planes,
        f,
        c,
        b_taps,
        (mr, nv),
        target,
        a_size=packed.size,
        a_rows=mr,
        a_panel=c * len(b_taps) * mr,
        **fields,
    )
    return spec, packed


def implicit_gemm_spec(
    name: str,
    planes: Planes,
    f: int,
    c: int,
    b_taps: tuple[int, ...],
    block: tuple[int, int],
    target: Target,
    *,
    a_size: int,
    a_rows: int,
    a_panel: int,
    init: str,
    groups: int,
    epilogue: Epilogue,
    **extra,
) -> GemmSpec:
    """A conv as implicit GEMM over `planes`: f filters x the planes' flat output positions,
    reducing over c channels x the taps at `b_taps`; A holds `a_rows` weights per tap and
    channel (a dense block of filters, or a block-sparse stream's rows), `a_panel` apart
    per row block. `extra` are GemmSpec's other fields (streams, unrolling)."""
    mr, nv = block
    taps = len(b_taps)
    out_stride = planes.out_hw[0] * planes.wq
    return GemmSpec(
        name=name,
        m=f,
        n=planes.n,
        c=c,
        a_size=a_size,
        b_size=planes.size,
        out_size=f * out_stride,
        out_stride=out_stride,
        mr=mr,
        nv=nv,
        vector=target.lanes,
        a_tap=tuple(t * a_rows for t in range(taps)),
        b_tap=b_taps,
        a_cstride=taps * a_rows,
        b_cstride=planes.channel_stride,
        a_istride=1,
        a_panel=a_panel,
        b_panel=nv * target.lanes,
        init=init,
        bias_size=f,
        groups=groups,
        a_lanes=not target.fma_memory_operand,
        epilogue=epilogue,
        residual=epilogue.residual is not None,
        **extra,
    )


def _filter_block(target: Target, filters: int) -> tuple[int, int]:
    """(vectors of filters, rows of pixels) of the pixels x filters register block."""
    nv = min(target.gemm_block[1], -(-filters // target.lanes))
    return nv, target.gemm_accumulators // nv


def _conv_transposed(
    lw, name, planes, weights, init, out_shape, target, groups, epi: Epilogue, taps=(0,)
) -> Lowering:
    """A conv as pixels x filters: filters vectorised, weights as B panels, each output
    vector stored lane by lane (a filter's pixels are adjacent in NCHW). The target's GEMM
    register block, pixels as its rows: each weight vector loaded serves that many FMAs.
    `taps`: the window's offsets in the planes. A window wider than one column leaves columns
    between the planes' rows that are no output pixel: the rows of the GEMM are then one
    output row's pixels, a batch product per output row, and those columns are never
    computed (vectorised along pixels, they are: (kw - 1) / (ow + kw - 1) of the FMAs)."""
    f, c = weights.shape[:2]
    oh, ow = out_shape[2], out_shape[3]
    pixels = oh * ow
    by_rows = planes.wq != ow
    p = ow if by_rows else planes.n
    v = target.lanes
    nv, rows = _filter_block(target, f)
    tile = nv * v
    panels = -(-f // tile)
    t = len(taps)
    packed = pack_column_panels(weights.reshape(f, c * t).T, tile)  # [NP][C][T][tile]
    unroll = 1 if t > 1 else (4 if c % 4 == 0 else (2 if c % 2 == 0 else 1))
    bias = init.bias if init.kind == "row" else np.full(f, init.value, np.float32)
    bias_padded = np.zeros(panels * tile, np.float32)
    bias_padded[:f] = bias
    mr = min(p, max(1, rows))
    if t > 1:
        a_tap, b_tap = tuple(taps), tuple(k * tile for k in range(t))
    else:
        a_tap = tuple(k * planes.channel_stride for k in range(unroll))
        b_tap = tuple(k * tile for k in range(unroll))
    spec = GemmSpec(
        name=name,
        # The weight panel of a tile (C x tile floats) is re-read by every block of pixels.
        # A step of the reduction is `unroll` channels.
        k_chunk=0 if by_rows else _reduction_chunk(c, tile * 4, mr, p, target.l1d_bytes) // unroll,
        m=p,
        n=f,
        c=c // unroll,
        a_size=planes.size,
        b_size=packed.size,
        out_size=f * pixels,
        out_stride=1,
        out_lane_stride=pixels,
        mr=mr,
        nv=nv,
        vector=v,
        a_tap=a_tap,
        b_tap=b_tap,
        a_cstride=unroll * planes.channel_stride,
        b_cstride=unroll * t * tile,
        a_istride=1,
        a_panel=mr,
        b_panel=c * t * tile,
        b_padded=True,
        init="col",
        bias_size=panels * tile,
        groups=groups,
        epilogue=epi,
        residual=epi.residual is not None,
        a_lanes=not target.fma_memory_operand,
        batch=oh if by_rows else 1,
        a_batch=planes.wq if by_rows else 0,
        out_batch=ow if by_rows else 0,
    )
    # The planes play A (pixels x channels), the packed weights B.
    kernel = emit_gemm(spec)
    params = [
        ("x", _memref(planes.src.shape)),
        ("wp", _memref((packed.size,))),
        ("bias", _memref((bias_padded.size,))),
    ]
    call_args = [
        ("%bflat", _memref((planes.size,))),
        ("%wp", _memref((packed.size,))),
        ("%bias", _memref((bias_padded.size,))),
    ]
    operands = [planes.src.value, packed.ravel(), bias_padded]
    size = f * pixels
    body = planes.prepare("%x") + _residual(params, operands, call_args, epi, out_shape, size)
    params.append(("out", _memref(out_shape)))
    call_args.append(("%oflat", _memref((size,))))
    body.append(
        f"%oflat = memref.collapse_shape %out [[0, 1, 2, 3]] : {_memref(out_shape)} into {_memref((size,))}"
    )
    body.append(_call(name, call_args))
    lw.text = kernel + _entry(lw.entry, params, body)
    lw.operands = operands
    lw.kind += "-t"
    lw.fused = epi.ops
    return lw


def _finish_conv(
    lw,
    spec: GemmSpec,
    planes: Planes,
    packed,
    bias,
    init: Init,
    out_shape,
    epi: Epilogue,
    indices: tuple[np.ndarray, ...] = (),
) -> Lowering:
    """The entry of a conv kernel; `indices` are the int32 arrays of a block stream (offsets, channels)."""
    rows, oh, ow = out_shape[1], out_shape[2], out_shape[3]
    params = [("x", _memref(planes.src.shape)), ("a", _memref((packed.size,)))]
    operands = [planes.src.value, packed.ravel()]
    call_args = [("%a", _memref((spec.a_size,))), ("%bflat", _memref((spec.b_size,)))]
    for k, array in enumerate(indices):
        params.append((f"idx{k}", _memref(array.shape, element="i32")))
        operands.append(array)
        call_args.append((f"%idx{k}", _memref(array.shape, element="i32")))
    if bias is not None:
        params.append(("bias", _memref((bias.size,))))
        operands.append(np.ascontiguousarray(bias, np.float32))
        call_args.append(("%bias", _memref((bias.size,))))
    if init.kind == "load" and spec.init == "load":
        params.append(("init", _memref(out_shape)))
        operands.append(init.tensor)
    res_lines = _residual(params, operands, call_args, epi, out_shape, spec.out_size)
    params.append(("out", _memref(out_shape)))
    call_args.append(("%oflat", _memref((spec.out_size,))))
    before, after = _output_lines(
        out_shape,
        rows,
        oh,
        ow,
        planes.wq,
        init if spec.init == "load" else Init("zero"),
        planes.compact,
    )
    body = planes.prepare("%x") + res_lines + before + [_call(spec.name, call_args)] + after
    lw.text = emit_gemm(spec) + _entry(lw.entry, params, body)
    lw.operands = operands
    lw.fused = epi.ops
    return lw


def _residual(params, operands, call_args, epi: Epilogue, out_shape, size: int) -> list[str]:
    """Adds the fused residual tensor (read in the output's flat layout) to the entry."""
    if epi.residual is None:
        return []
    params.append(("res", _memref(out_shape)))
    operands.append(epi.residual)
    call_args.append(("%rflat", _memref((size,))))
    return [
        f"%rflat = memref.collapse_shape %res [[0, 1, 2, 3]] : {_memref(out_shape)} into {_memref((size,))}"
    ]


# ----- depthwise convolution and pooling -------------------------------------------------------


def _plan_stencil(
    op, name, target, groups, src: Source, kernel, weights, combine: str, kind: str
) -> Lowering | None:
    out_shape = _shape(op.results[0])
    if src is None or out_shape is None or src.shape[0] != 1:
        return None
    if "dilations" in op.attributes and _ints(op.attributes["dilations"]) != (1, 1):
        return None
    strides = _ints(op.attributes["strides"]) if "strides" in op.attributes else (1, 1)
    _, c, oh, ow = out_shape
    if src.shape[1] != c:
        return None
    init = read_init(op.operands[-1], 1, 4)
    epi = fuse_consumers(op.results[0], allow_residual=True)
    # Only the top / left padding goes in: the stencil reads the bottom / right padding as the
    # windows that run past the input (ceil_mode), and must not read those in place.
    spec = StencilSpec(
        name=name,
        channels=c,
        src_hw=src.shape[2:],
        pads=src.pads[:2],
        strides=strides,
        kernel=kernel,
        out_hw=(oh, ow),
        vector=target.lanes,
        combine=combine,
        pad_value=src.pad_value,
        init=init.kind,
        init_value=init.value,
        epilogue=epi,
        residual=epi.residual is not None,
        groups=groups,
    )
    lw = Lowering(
        entry=f"{name}_entry", text="", kind=kind, macs=c * kernel[0] * kernel[1] * oh * ow
    )
    flat_in, flat_out = _memref((spec.in_size,)), _memref((spec.out_size,))
    params = [("x", _memref(src.shape))]
    operands = [src.value]
    call_args = [("%xflat", flat_in)]
    body = [
        f"%xflat = memref.collapse_shape %x [[0, 1, 2, 3]] : {_memref(src.shape)} into {flat_in}"
    ]
    if weights is not None:
        params.append(("w", _memref((weights.size,))))
        operands.append(np.ascontiguousarray(weights, np.float32).ravel())
        call_args.append(("%w", _memref((weights.size,))))
    if init.kind == "row":
        params.append(("bias", _memref((c,))))
        operands.append(init.bias)
        call_args.append(("%bias", _memref((c,))))
    if init.kind == "load":
        params.append(("init", _memref(out_shape)))
        operands.append(init.tensor)
        body.append(
            f"linalg.copy ins(%init : {_memref(out_shape)}) outs(%out : {_memref(out_shape)})"
        )
    if epi.residual is not None:
        params.append(("res", _memref(out_shape)))
        operands.append(epi.residual)
        call_args.append(("%rflat", flat_out))
        body.append(
            f"%rflat = memref.collapse_shape %res [[0, 1, 2, 3]] : {_memref(out_shape)} into {flat_out}"
        )
    if spec.staged:
        stage = _memref((spec.used_groups * spec.stage_size,))
        body.append(f"%stage = memref.alloc() {{alignment = 64 : i64}} : {stage}")
        call_args.append(("%stage", stage))
    params.append(("out", _memref(out_shape)))
    call_args.append(("%oflat", flat_out))
    body.append(
        f"%oflat = memref.collapse_shape %out [[0, 1, 2, 3]] : {_memref(out_shape)} into {flat_out}"
    )
    body.append(_call(name, call_args))
    lw.text = emit_stencil(spec) + _entry(lw.entry, params, body)
    lw.operands = operands
    lw.fused = epi.ops
    return lw


def plan_depthwise(op: ir.Operation, name: str, target: Target, groups: int) -> Lowering | None:
    """linalg.depthwise_conv_2d_nchw_chw with constant weights."""
    if len(op.operands) != 3:
        return None
    src = read_source(op.operands[0])
    weights, _ = constant_operand(op.operands[1])
    if src is None or weights is None or weights.ndim != 3 or src.pad_value != 0.0:
        return None
    c, kh, kw = weights.shape
    return _plan_stencil(
        op, name, target, groups, src, (kh, kw), weights.reshape(c, kh * kw), "fma", f"dw{kh}x{kw}"
    )


def plan_pool(op: ir.Operation, name: str, target: Target, groups: int) -> Lowering | None:
    """linalg.pooling_nchw_max / pooling_nchw_sum (window from the shape operand)."""
    if len(op.operands) != 3:
        return None
    window = _shape(op.operands[1])
    src = read_source(op.operands[0])
    if window is None or len(window) != 2 or src is None:
        return None
    combine = "max" if op.name.endswith("max") else "add"
    if combine == "add" and src.pad_value != 0.0:
        return None
    if (
        combine == "max"
        and src.pad_value != 0.0
        and not (np.isinf(src.pad_value) or src.pad_value < -1e38)
    ):
        # Max pooling pads with -inf (or the lowest float); any other value is data.
        return None
    return _plan_stencil(
        op,
        name,
        target,
        groups,
        src,
        window,
        None,
        combine,
        f"{combine}pool{window[0]}x{window[1]}",
    )


# ----- matmul ------------------------------------------------------------------------------------


def constant_operand(value: ir.Value) -> tuple[np.ndarray | None, ir.Operation | None]:
    """A constant tensor, also through reshapes and a linalg.transpose of a constant (folded here)."""
    array = constant_array(value)
    if array is not None:
        return array, None
    for name in ("tensor.collapse_shape", "tensor.expand_shape"):
        reshape = defining_op(value, name)
        if reshape is not None:
            inner, _ = constant_operand(reshape.operands[0])
            shape = _shape(value)
            if inner is not None and shape is not None:
                return inner.reshape(shape), reshape
    tr = defining_op(value, "linalg.transpose")
    if tr is not None:
        inner, _ = constant_operand(tr.operands[0])
        if inner is not None:
            perm = _ints(tr.attributes["permutation"])
            return np.transpose(inner, perm), tr
    return None, None


def pack_column_panels(b: np.ndarray, tile: int) -> np.ndarray:
    """B (K x N, any strides) as [N/tile][K][tile] column panels, the last zero-padded.

    One strided pass: B is usually a linear layer's weight seen transposed, and padding it
    first, then transposing the padded copy, took two passes over VGG-16's fc6 weights, an
    order of magnitude longer (measured: docs/design.md, section 10).
    """
    k, n = b.shape
    full, panels = n // tile, -(-n // tile)
    packed = np.empty((panels, k, tile), np.float32)
    packed[:full] = b[:, : full * tile].reshape(k, full, tile).transpose(1, 0, 2)
    if full < panels:
        rest = n - full * tile
        packed[full, :, :rest] = b[:, full * tile :]
        packed[full, :, rest:] = 0
    return packed


def plan_matmul(op: ir.Operation, name: str, target: Target, groups: int) -> Lowering | None:
    """linalg.matmul (M x K times K x N) with a constant B: B packed into column panels."""
    if not is_plain_matmul(op):
        return plan_contraction(op, name, target, groups)  # a transposed operand, read in place
    if len(op.operands) != 3:
        return None
    a_shape, b_shape, out_shape = (
        _shape(v) for v in (op.operands[0], op.operands[1], op.results[0])
    )
    if a_shape is None or b_shape is None or out_shape is None:
        return None
    m, k = a_shape
    n = b_shape[1]
    b_const, _ = constant_operand(op.operands[1])
    init = read_init(op.operands[2], 0, 2)
    v = target.lanes
    lw = Lowering(entry=f"{name}_entry", text="", kind="matmul", macs=m * n * k)
    if b_const is None:
        return plan_contraction(
            op, name, target, groups
        )  # activations x activations: read in place
    nv = min(target.gemv_vectors, -(-n // v))
    tile = nv * v
    packed = pack_column_panels(b_const, tile)
    unroll = 4 if k % 4 == 0 else (2 if k % 2 == 0 else 1)
    mr = min(m, max(1, target.gemm_accumulators // nv))
    init_kind = {"zero": "zero", "const": "const", "row": "row", "load": "load"}[init.kind]
    spec = GemmSpec(
        name=name,
        m=m,
        n=n,
        c=k // unroll,
        a_size=m * k,
        b_size=packed.size,
        out_size=m * n,
        out_stride=n,
        mr=mr,
        nv=nv,
        vector=v,
        a_tap=tuple(range(unroll)),
        b_tap=tuple(t * tile for t in range(unroll)),
        a_cstride=unroll,
        b_cstride=unroll * tile,
        a_istride=k,
        a_panel=mr * k,
        b_panel=k * tile,
        b_padded=True,
        init=init_kind,
        init_value=init.value,
        bias_size=m,
        groups=groups,
        a_lanes=not target.fma_memory_operand,
    )
    params = [("x", _memref(a_shape)), ("bp", _memref((packed.size,)))]
    operands = [op.operands[0], packed.ravel()]
    call_args = [("%aflat", _memref((m * k,))), ("%bp", _memref((packed.size,)))]
    if init_kind == "row":
        params.append(("bias", _memref((m,))))
        operands.append(init.bias)
        call_args.append(("%bias", _memref((m,))))
    if init_kind == "load":
        params.append(("init", _memref(out_shape)))
        operands.append(init.tensor)
    params.append(("out", _memref(out_shape)))
    call_args.append(("%oflat", _memref((m * n,))))
    body = [
        f"%aflat = memref.collapse_shape %x [[0, 1]] : {_memref(a_shape)} into {_memref((m * k,))}"
    ]
    if init_kind == "load":
        body.append(
            f"linalg.copy ins(%init : {_memref(out_shape)}) outs(%out : {_memref(out_shape)})"
        )
    body.append(
        f"%oflat = memref.collapse_shape %out [[0, 1]] : {_memref(out_shape)} into {_memref((m * n,))}"
    )
    body.append(_call(name, call_args))
    lw.text = emit_gemm(spec) + _entry(lw.entry, params, body)
    lw.operands = operands
    return lw


def is_plain_matmul(op: ir.Operation) -> bool:
    """A linalg.matmul whose indexing maps, if written, are the default ones (no transposed operand)."""
    return (
        "indexing_maps" not in op.attributes
        or op.attributes["indexing_maps"] == _default_matmul_maps()
    )


def _default_matmul_maps():
    return ir.Attribute.parse(
        "[affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, "
        "affine_map<(d0, d1, d2) -> (d0, d1)>]"
    )
