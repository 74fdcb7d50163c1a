"""Winograd F(2x2, 3x3) transforms of a dense 3x3 stride-1 convolution as MLIR vector code.

A 3x3 convolution computes each 2x2 block of outputs from a 4x4 tile of its input with 36
multiplications per channel pair; Winograd's minimal filtering (Lavin and Gray's F(2x2, 3x3))
does it with 16, after transforms that only add and subtract:

    V = B^T d B    (input tile d, 4x4, per channel: `emit_input_transform`)
    U = G g G^T    (kernel g, 3x3 -> 4x4, per filter and channel: `transform_weights`, at
                    compile time)
    M[p] = U[p] V[p]   for each of the 16 positions p: a GEMM of filters x channels times
                    channels x tiles (codegen/dense_gemm.py, a batch of 16 products)
    Y = A^T M A    (2x2 outputs per tile and filter: `emit_output_transform`, with the bias
                    and the fused epilogue)

with B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]], G = [[1,0,0],[.5,.5,.5],[.5,-.5,.5],
[0,0,1]] and A^T = [[1,1,1,0],[0,1,-1,-1]]. The GEMMs do 2.25 times fewer FMAs than the direct
convolution; the transforms are a few vector adds per tile and channel.

Layouts (flat f32 buffers): the input as zero-padded planes [C][hq][wq], hq = 2 th + 2 and
wq = 2 tw + 2 for th x tw tiles (the padding the conv reads, and a row and column of zeros
where the output size is odd); V as [16][C][T] and M as [16][F][T], T = th * tw tiles in
row-major order, so each GEMM product reads rows of tiles contiguously. The transforms run
along the tiles of a row, a vector of them at a time: the input's columns 2 tx + k are
deinterleaved from two contiguous loads (vector.shuffle), the outputs' columns interleaved
back before one contiguous store per output row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .irtext import FuncWriter, vec_type

__all__ = [
    "WinogradSpec",
    "emit_input_transform",
    "emit_output_transform",
    "kernel_blocks",
    "transform_weights",
]

_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float64)


def kernel_blocks(size: int) -> tuple[tuple[int, int], ...]:
    """Offsets of the 3x3 blocks of a size x size kernel (zero-padded to a multiple of 3)."""
    steps = range(0, size, 3)
    return tuple((oy, ox) for oy in steps for ox in steps)


def transform_weights(weights: np.ndarray) -> np.ndarray:
    """[F][C][K][K] -> U = G g G^T of each 3x3 block g (`kernel_blocks`), as [16][F][b C + c]
    (position 4 i + j), in float64 then rounded once to f32."""
    f, c, k = weights.shape[:3]
    padded = np.zeros((f, c, -(-k // 3) * 3, -(-k // 3) * 3))
    padded[:, :, :k, :k] = weights
    blocks = [padded[:, :, oy : oy + 3, ox : ox + 3] for oy, ox in kernel_blocks(k)]
    u = np.einsum("ij,fbcjk,lk->ilfbc", _G, np.stack(blocks, axis=1), _G)
    return u.reshape(16, f, len(blocks) * c).astype(np.float32)


@dataclass(frozen=True)
class WinogradSpec:
    """The transforms of one convolution: shapes, buffer sizes, vector width, threads."""

    name: str
    channels: int
    filters: int
    out_hw: tuple[int, int]  # output rows and columns
    lanes: int
    groups: int = 1  # threads: channel ranges (input) and filter ranges (output)
    # A kernel dilated by 2 is four undilated convolutions, one per phase (py, px) of the
    # output: rows 2 i + py and columns 2 j + px read the input's phase plane (py, px) only.
    dilation: int = 1
    # A larger kernel is a sum of 3x3 ones: its 3x3 blocks (zero-padded to a multiple of 3),
    # each read at its offset (row, column) into the planes. V then has a row per block and
    # channel (block-major), and one GEMM sums over both: a 5x5 kernel is four blocks, 64
    # products per 2x2 outputs and channel pair where the direct conv has 100.
    blocks: tuple[tuple[int, int], ...] = ((0, 0),)
    epilogue: object = field(default=None, compare=False)  # passes/dense/epilogue.Epilogue
    residual: bool = False  # %res, in the output's layout, feeds the epilogue

    @property
    def phases(self) -> int:
        return self.dilation * self.dilation

    @property
    def tiles_hw(self) -> tuple[int, int]:
        """Tile rows and columns of a phase (of the largest, phase (0, 0): all are as large)."""
        rows = -(-self.out_hw[0] // self.dilation)  # phase (0, 0)'s output rows and columns
        cols = -(-self.out_hw[1] // self.dilation)
        return -(-rows // 2), -(-cols // 2)

    @property
    def tiles(self) -> int:
        """Tiles of every phase: phase q holds tiles q * th * tw ... (q + 1) * th * tw - 1."""
        th, tw = self.tiles_hw
        return self.phases * th * tw

    @property
    def rows(self) -> int:
        """Rows of V (the GEMMs' reduction): one per block and channel."""
        return len(self.blocks) * self.channels

    @property
    def plane_hw(self) -> tuple[int, int]:
        th, tw = self.tiles_hw
        return (
            2 * th + 2 + max(oy for oy, _ in self.blocks),
            2 * tw + 2 + max(ox for _, ox in self.blocks),
        )

    @property
    def planes_size(self) -> int:
        """Elements of the planes buffer: the planes, and 2 vectors the last tiles' loads
        may run past them (their lanes beyond the row are never stored)."""
        hq, wq = self.plane_hw
        return self.channels * self.phases * hq * wq + 2 * self.lanes

    @property
    def v_size(self) -> int:
        return 16 * self.rows * self.tiles

    @property
    def m_size(self) -> int:
        """Elements of M, and a vector the output transform's last loads may run past it."""
        return 16 * self.filters * self.tiles + self.lanes

    @property
    def out_size(self) -> int:
        return self.filters * self.out_hw[0] * self.out_hw[1]


def _flat(size: int) -> str:
    return f"memref<{size}xf32>"


def _over_groups(w: FuncWriter, count: int, groups: int):
    """Opens the loop over [0, count) split into `groups` contiguous ranges run in parallel
    (one scf.parallel iteration each), or a plain loop; returns (induction variable, closing
    lines)."""
    if groups <= 1 or count < 2:
        return w.for_loop(0, count), ["}"]
    groups = min(groups, count)
    g = w.fresh("g")
    w.line(f"scf.parallel ({g}) = ({w.index(0)}) to ({w.index(groups)}) step ({w.index(1)}) {{")
    w.indent()
    lo = w.op(f"arith.divui {w.mul(g, count)}, {w.index(groups)} : index", "i")
    hi = w.op(f"arith.divui {w.mul(w.add(g, 1), count)}, {w.index(groups)} : index", "i")
    iv = w.for_loop(lo, hi)
    return iv, ["}", "scf.reduce", "}"]


def _close(w: FuncWriter, closing: list[str]) -> None:
    for text in closing:
        if text == "}":
            w.dedent()
        w.line(text)


def _shuffle(w: FuncWriter, a: str, b: str, mask: list[int], source: int) -> str:
    st = vec_type(source)
    return w.op(f"vector.shuffle {a}, {b} [{', '.join(map(str, mask))}] : {st}, {st}")


def _binary(w: FuncWriter, op: str, a: str, b: str, width: int) -> str:
    return w.op(f"arith.{op} {a}, {b} : {vec_type(width)}")


def emit_input_transform(spec: WinogradSpec) -> str:
    """`@<name>_in(%p: planes, %v: V)`: V[4 i + j][b C + c][t] = (B^T d B)[i][j] of every tile
    t, block b and channel c (d: the tile at the block's offset)."""
    v = spec.lanes
    hq, wq = spec.plane_hw
    th, tw = spec.tiles_hw
    t_count, c_count = spec.tiles, spec.channels
    pt, vt = _flat(spec.planes_size), _flat(spec.v_size)
    w = FuncWriter()
    c, closing = _over_groups(w, c_count, spec.groups)
    q = w.for_loop(0, spec.phases) if spec.phases > 1 else 0
    ty = w.for_loop(0, th)
    # Plane (c, q) of the planes [C][phases][hq][wq]; tile row ty of phase q in V's rows.
    row0 = w.add(w.mul(w.add(w.mul(c, spec.phases), q), hq * wq), w.mul(ty, 2 * wq))
    out0 = w.add(w.add(w.mul(c, t_count), w.mul(q, th * tw)), w.mul(ty, tw))
    evens = list(range(0, 2 * v, 2))
    odds = list(range(1, 2 * v, 2))

    def along_rows(r: list[str]) -> list[str]:
        """B^T along the rows: r0 - r2, r1 + r2, r2 - r1, r1 - r3."""
        return [
            _binary(w, "subf", r[0], r[2], 2 * v),
            _binary(w, "addf", r[1], r[2], 2 * v),
            _binary(w, "subf", r[2], r[1], 2 * v),
            _binary(w, "subf", r[1], r[3], 2 * v),
        ]

    def chunk(x0, lanes: int) -> None:
        """Tiles x0 .. x0 + lanes - 1 of tile row ty, for every block."""
        for b, (oy, ox) in enumerate(spec.blocks):
            block_chunk(x0, lanes, w.add(row0, oy * wq + ox), w.add(out0, b * c_count * t_count))

    def block_chunk(x0, lanes: int, row0, out0) -> None:
        start = w.add(row0, w.mul(x0, 2))
        low, high = [], []
        for k in range(4):
            at = w.add(start, k * wq)
            low.append(w.vector_load("%p", pt, w.v(at), 2 * v, 2 * v))
            high.append(w.vector_load("%p", pt, w.v(w.add(at, 2)), 2 * v, 2 * v))
        low_rows, high_rows = along_rows(low), along_rows(high)
        target = w.add(out0, x0)
        for i in range(4):
            # Columns 2 tx, 2 tx + 1 (from the load at 2 x0) and 2 tx + 2, 2 tx + 3 (at 2 x0 + 2).
            e0 = _shuffle(w, low_rows[i], low_rows[i], evens, 2 * v)
            o0 = _shuffle(w, low_rows[i], low_rows[i], odds, 2 * v)
            e1 = _shuffle(w, high_rows[i], high_rows[i], evens, 2 * v)
            o1 = _shuffle(w, high_rows[i], high_rows[i], odds, 2 * v)
            columns = [
                _binary(w, "subf", e0, e1, v),
                _binary(w, "addf", o0, e1, v),
                _binary(w, "subf", e1, o0, v),
                _binary(w, "subf", o0, o1, v),
            ]
            for j, value in enumerate(columns):
                at = w.add(target, (4 * i + j) * spec.rows * t_count)
                w.vector_store(value, "%v", vt, w.v(at), lanes, v)

    full, tail = divmod(tw, v)
    if full:
        x0 = w.for_loop(0, full * v, v)
        chunk(x0, v)
        w.end_loop()
    if tail:
        chunk(full * v, tail)
    w.end_loop()
    if spec.phases > 1:
        w.end_loop()
    _close(w, closing)
    w.line("return")
    return f"func.func private @{spec.name}_in(%p: {pt}, %v: {vt}) {{\n{w.body()}\n}}\n"


def emit_output_transform(spec: WinogradSpec) -> str:
    """`@<name>_out(%m: M, %bias, [%res,] %out)`: the 2x2 outputs A^T M A of every tile and
    filter, plus the bias, through the epilogue, stored into the NCHW output.

    With dilation 2, output row 2 r + py interleaves the rows of phases (py, 0) and (py, 1):
    both are computed for the same tiles, then shuffled into one contiguous run of columns."""
    if spec.dilation not in (1, 2):
        raise ValueError(f"{spec.name}: Winograd transforms for dilation {spec.dilation}")
    v, d = spec.lanes, spec.dilation
    oh, ow = spec.out_hw
    th, tw = spec.tiles_hw
    t_count, f_count = spec.tiles, spec.filters
    mt, ot, bt = _flat(spec.m_size), _flat(spec.out_size), _flat(f_count)
    vtype, masktype = vec_type(v), vec_type(v, "i1")
    w = FuncWriter()
    f, closing = _over_groups(w, f_count, spec.groups)
    scalar = w.op(f"memref.load %bias[{f}] : {bt}")
    bias = w.op(f"vector.broadcast {scalar} : f32 to {vtype}")
    # Lanes of two vectors, interleaved: the low half of the result, then the high half.
    low_lanes = [k // 2 + (v if k % 2 else 0) for k in range(v)]
    high_lanes = [v // 2 + k // 2 + (v if k % 2 else 0) for k in range(v)]

    def interleave(a: str, b: str) -> list[str]:
        return [_shuffle(w, a, b, low_lanes, v), _shuffle(w, a, b, high_lanes, v)]

    def phase_rows(q: int, ty, x0, rows: int) -> list[list[str]]:
        """Per output row a < rows of tile row ty in phase q: its 2 v columns from 2 x0, as two
        vectors."""
        m0 = w.add(w.add(w.add(w.mul(f, t_count), q * th * tw), w.mul(ty, tw)), x0)
        m = [
            w.vector_load("%m", mt, w.v(w.add(m0, p * f_count * t_count)), v, v) for p in range(16)
        ]
        # A^T along the rows of M: s0 = m0 + m1 + m2, s1 = m1 - m2 - m3 (per column j).
        s = [[], []]
        for j in range(4):
            a, b, c, e = (m[4 * i + j] for i in range(4))
            bc = _binary(w, "addf", b, c, v)
            s[0].append(_binary(w, "addf", a, bc, v))
            s[1].append(_binary(w, "subf", _binary(w, "subf", b, c, v), e, v))
        out = []
        for a in range(rows):
            r = s[a]
            y0 = _binary(w, "addf", r[0], _binary(w, "addf", r[1], r[2], v), v)
            y1 = _binary(w, "subf", _binary(w, "subf", r[1], r[2], v), r[3], v)
            out.append(interleave(y0, y1))
        return out

    def chunk(py: int, ty, x0, columns: int, rows: int) -> None:
        """Tiles x0 ... of tile row ty of the phases of row phase py: `columns` output columns
        from 2 d x0, `rows` output rows from row d (2 ty) + py, one every d."""
        per_phase = [phase_rows(py * d + px, ty, x0, rows) for px in range(d)]
        for a in range(rows):
            pieces = per_phase[0][a]
            if d == 2:  # columns 2 k and 2 k + 1 from phases (py, 0) and (py, 1)
                pieces = [
                    z for y in zip(*(per_phase[px][a] for px in range(2))) for z in interleave(*y)
                ]
            row = w.add(w.add(w.mul(f, oh * ow), w.mul(ty, 2 * d * ow)), (d * a + py) * ow)
            start = w.add(row, w.mul(x0, 2 * d))
            for k, piece in enumerate(pieces):
                count = min(v, columns - k * v)
                if count <= 0:
                    continue
                value = _binary(w, "addf", piece, bias, v)
                at = w.v(w.add(start, k * v))
                residual = w.vector_load("%res", ot, at, count, v) if spec.residual else None
                if spec.epilogue is not None and not spec.epilogue.empty:
                    value = spec.epilogue.render(w, value, vtype, masktype, residual)
                w.vector_store(value, "%out", ot, at, count, v)

    def tile_row(py: int, ty, rows: int) -> None:
        full, tail = divmod(ow, 2 * d * v)
        if full:
            x0 = w.for_loop(0, full * v, v)
            chunk(py, ty, x0, 2 * d * v, rows)
            w.end_loop()
        if tail:
            chunk(py, ty, full * v, tail, rows)

    for py in range(d):
        rows = -(-(oh - py) // d)  # output rows of this row phase
        if rows <= 0:
            continue
        whole = rows // 2
        if whole:
            ty = w.for_loop(0, whole)
            tile_row(py, ty, 2)
            w.end_loop()
        if rows % 2:
            tile_row(py, whole, 1)
    _close(w, closing)
    w.line("return")
    res = f"%res: {ot}, " if spec.residual else ""
    return (
        f"func.func private @{spec.name}_out(%m: {mt}, %bias: {bt}, {res}%out: {ot}) {{\n"
        f"{w.body()}\n}}\n"
    )
