"""Winograd F(2x2, 3x3) and F(2x2, 5x5) transforms of a dense stride-1 convolution as MLIR vector code.

An r x r convolution computes each 2x2 block of outputs from an n x n tile of its input
(n = r + 1) with 4 r^2 multiplications per channel pair; Winograd's minimal filtering
(Lavin and Gray) does it with n^2, after transforms that only add, subtract and scale by
small constants:

    V = B^T d B    (input tile d, n x n, per channel: `emit_input_transform`)
    U = G g G^T    (kernel g, r x r -> n x n, per filter and channel: `transform_weights`, at
                    compile time)
    M[p] = U[p] V[p]   for each of the n^2 positions p: a GEMM of filters x channels times
                    channels x tiles (codegen/dense_gemm.py, a batch of n^2 products)
    Y = A^T M A    (2x2 outputs per tile and filter: `emit_output_transform`, with the bias
                    and the fused epilogue)

The matrices are Toom-Cook's at the points 0, 1, -1 (r = 3) and 0, 1, -1, 2, -2 (r = 5), and
infinity (`winograd_matrices`): for r = 3, B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]],
G = [[1,0,0],[.5,.5,.5],[.5,-.5,.5],[0,0,1]] and A^T = [[1,1,1,0],[0,1,-1,-1]]: the GEMMs do
2.25 times fewer FMAs than the direct convolution; for r = 5, 36 products where the direct
convolution has 100 (2.78 times fewer), and B^T scales by 2, 4 and 5. The larger the points,
the more a transform amplifies rounding: the points stop at 2, where f32 results stay within
about 1e-6 of the direct convolution's.

Layouts (flat f32 buffers): the input as zero-padded planes [C][hq][wq], hq = 2 th + n - 2 and
wq = 2 tw + n - 2 for th x tw tiles (the padding the conv reads, and a row and column of zeros
where the output size is odd); V as [n^2][C][T] and M as [n^2][F][T], T = th * tw tiles in
row-major order, so each GEMM product reads rows of tiles contiguously. The transforms run
along the tiles of a row, a vector of them at a time: a tile's columns 2 tx + k are
deinterleaved from n / 2 contiguous loads (vector.shuffle), the outputs' columns interleaved
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
    "transform_weights",
    "winograd_matrices",
]

_POINTS = (0.0, 1.0, -1.0, 2.0, -2.0)  # Toom-Cook's interpolation points, infinity last
OUTPUTS = 2  # outputs per tile along each axis


def winograd_matrices(kernel: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A^T, G, B^T) of F(2, kernel), float64: A^T is 2 x n, G n x kernel, B^T n x n.

    Toom-Cook at n - 1 finite points and infinity: A^T evaluates the output polynomial
    (p^i), G the kernel's (p^k) divided by the Lagrange denominator of its point, B^T's row j
    holds the coefficients of the product of (x - p_l) over the other points (all of them
    for infinity's row). Signs are moved so that each row of G starts positive (its row of
    B^T changes sign with it) and infinity's row of B^T too (with A^T's column): the
    matrices above for kernel 3."""
    n = kernel + OUTPUTS - 1
    points = _POINTS[: n - 1]
    if len(points) != n - 1:
        raise ValueError(f"no Winograd points for a {kernel}x{kernel} kernel")
    at = np.zeros((OUTPUTS, n))
    g = np.zeros((n, kernel))
    bt = np.zeros((n, n))
    for j, p in enumerate(points):
        at[:, j] = [p**i for i in range(OUTPUTS)]
        g[j] = [p**k for k in range(kernel)]
        g[j] /= np.prod([p - q for q in points if q != p])
        bt[j, : n - 1] = np.poly([q for q in points if q != p])[::-1]
    at[OUTPUTS - 1, n - 1] = 1.0
    g[n - 1, kernel - 1] = 1.0
    bt[n - 1] = np.poly(points)[::-1]
    for j in range(n - 1):
        if g[j][np.flatnonzero(g[j])[0]] < 0:
            g[j], bt[j] = -g[j], -bt[j]
    if bt[n - 1][np.flatnonzero(bt[n - 1])[0]] < 0:
        bt[n - 1], at[:, n - 1] = -bt[n - 1], -at[:, n - 1]
    return at + 0.0, g + 0.0, bt + 0.0  # no negative zeros


def transform_weights(weights: np.ndarray) -> np.ndarray:
    """[F][C][K][K] -> U = G g G^T as [n^2][F][C] (position n i + j), in float64 then rounded
    once to f32."""
    f, c, k = weights.shape[:3]
    _, g, _ = winograd_matrices(k)
    n = g.shape[0]
    u = np.einsum("ij,fcjk,lk->ilfc", g, weights.astype(np.float64), g)
    return u.reshape(n * n, f, c).astype(np.float32)


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
    kernel: int = 3  # r: F(2x2, r x r), tiles of n = r + 1
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
    def n(self) -> int:
        """Rows and columns of a tile."""
        return self.kernel + OUTPUTS - 1

    @property
    def positions(self) -> int:
        """Elements of a transformed tile: the GEMMs of one convolution."""
        return self.n * self.n

    @property
    def plane_hw(self) -> tuple[int, int]:
        th, tw = self.tiles_hw
        return OUTPUTS * th + self.n - OUTPUTS, OUTPUTS * tw + self.n - OUTPUTS

    @property
    def planes_size(self) -> int:
        """Elements of the planes buffer: the planes, and what the last tiles' loads (2
        vectors from each of columns 0, 2, ..., n - 2 of the tiles) may run past them (their
        lanes beyond the row are never stored)."""
        hq, wq = self.plane_hw
        return self.channels * self.phases * hq * wq + 2 * self.lanes + self.n - 4

    @property
    def v_size(self) -> int:
        return self.positions * self.channels * self.tiles

    @property
    def m_size(self) -> int:
        """Elements of M, and a vector the output transform's last loads may run past it."""
        return self.positions * self.filters * self.tiles + self.lanes

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


def _combine(w: FuncWriter, coefficients, values: list[str], width: int) -> str:
    """sum c_k values_k for a row of a transform matrix: adds and subtracts for +-1, a
    multiply (contracting into an FMA where it adds) for the small constants of F(2, 5).
    Starts from a term with coefficient 1 where there is one: no negation."""
    terms = [(float(c), x) for c, x in zip(coefficients, values) if c != 0]
    terms.sort(key=lambda term: term[0] != 1.0)
    vt = vec_type(width)
    contract = "fastmath<contract>"

    def scaled(c: float, x: str) -> str:
        return w.op(f"arith.mulf {x}, {w.const(f'dense<{c!r}>', vt)} {contract} : {vt}")

    c, x = terms[0]
    acc = x if c == 1.0 else scaled(c, x)
    for c, x in terms[1:]:
        if abs(c) != 1.0:
            x = scaled(abs(c), x)
        op = "addf" if c > 0 else "subf"
        acc = w.op(f"arith.{op} {acc}, {x} {contract} : {vt}")
    return acc


def emit_input_transform(spec: WinogradSpec) -> str:
    """`@<name>_in(%p: planes, %v: V)`: V[n i + j][c][t] = (B^T d B)[i][j] of every tile t and
    channel c."""
    v, n = spec.lanes, spec.n
    _, _, bt = winograd_matrices(spec.kernel)
    hq, wq = spec.plane_hw
    th, tw = spec.tiles_hw
    t_count, c_count = spec.tiles, spec.channels
    pt, vt = _flat(spec.planes_size), _flat(spec.v_size)
    w = FuncWriter()
    c, closing = _over_groups(w, c_count, spec.groups)
    q = w.for_loop(0, spec.phases) if spec.phases > 1 else 0
    ty = w.for_loop(0, th)
    # Plane (c, q) of the planes [C][phases][hq][wq]; tile row ty of phase q in V's rows.
    row0 = w.add(w.mul(w.add(w.mul(c, spec.phases), q), hq * wq), w.mul(ty, OUTPUTS * wq))
    out0 = w.add(w.add(w.mul(c, t_count), w.mul(q, th * tw)), w.mul(ty, tw))
    evens = list(range(0, 2 * v, 2))
    odds = list(range(1, 2 * v, 2))

    def chunk(x0, lanes: int) -> None:
        """Tiles x0 .. x0 + lanes - 1 of tile row ty: tile tx reads columns 2 tx .. 2 tx +
        n - 1, from the n / 2 loads of 2 v columns at 2 x0, 2 x0 + 2, ..."""
        start = w.add(row0, w.mul(x0, OUTPUTS))
        loads = [
            [
                w.vector_load("%p", pt, w.v(w.add(start, k * wq + 2 * s)), 2 * v, 2 * v)
                for k in range(n)
            ]
            for s in range(n // 2)
        ]
        # B^T along the rows, on the loaded columns.
        rows = [[_combine(w, bt[i], load, 2 * v) for i in range(n)] for load in loads]
        target = w.add(out0, x0)
        for i in range(n):
            columns = []  # columns 2 tx + k of row i, k < n
            for s in range(n // 2):
                columns.append(_shuffle(w, rows[s][i], rows[s][i], evens, 2 * v))
                columns.append(_shuffle(w, rows[s][i], rows[s][i], odds, 2 * v))
            for j in range(n):
                value = _combine(w, bt[j], columns, v)
                at = w.add(target, (n * i + j) * c_count * t_count)
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
    v, d, n = spec.lanes, spec.dilation, spec.n
    at, _, _ = winograd_matrices(spec.kernel)
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
            w.vector_load("%m", mt, w.v(w.add(m0, p * f_count * t_count)), v, v)
            for p in range(spec.positions)
        ]
        # A^T along the rows of M (per column j), then along the columns of each output row.
        out = []
        for a in range(rows):
            s = [_combine(w, at[a], [m[n * i + j] for i in range(n)], v) for j in range(n)]
            y0, y1 = (_combine(w, at[b], s, v) for b in range(OUTPUTS))
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
