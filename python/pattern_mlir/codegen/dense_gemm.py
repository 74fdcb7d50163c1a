"""GEMM-shaped dense kernels as MLIR vector code over flat memrefs.

One generator serves every dense contraction the compiler meets after the pattern convs are
gone: a convolution is an *implicit* GEMM over output positions, a matmul (nn.Linear) an
explicit one. The generated function computes

    out[m, n] = init(m, n) + sum_{c < C} sum_{t < T} A(m, c, t) * B(n, c, t)     for n < N

with n vectorised (`V` lanes) and a register block of `mr` rows x `nv` vectors kept in
accumulators across the whole reduction (an `scf.for` over c whose body unrolls the T taps;
the accumulators are its iter_args, stored once). Addresses are linear in every index:

    A: a_base(mp) + c * a_cstride + a_tap[t] + i * a_istride   (i < mr, row in the block)
    B: b_base(nt) + c * b_cstride + b_tap[t] + j * V           (j < nv, vector in the tile)

so the same loop nest covers
* conv_2d_nchw_fchw as implicit GEMM: B is the (padded, phase-split) input seen as flat
  planes, tap t of a KxK kernel reads at a constant offset, A the weights packed
  [M/mr][C][T][mr] at compile time (one broadcast load per FMA row);
* matmul with constant B (nn.Linear after folding the weight transpose): B packed in
  [N/(nv*V)][K][nv*V] panels, so each tile streams one contiguous panel; A the activations.
* matmul of runtime operands (attention): both read in place, B row by row (b_cstride = its
  row length, masked tail); `batch` > 1 repeats the nest per product at fixed offsets.

Remainders: the last row block is emitted again with fewer rows; the last column tile with
fewer vectors, its last vector masked (`vector.maskedload` / `vector.maskedstore`), so every
shape is exact and nothing is read or written out of bounds.

Loop nest: column tiles outside (the B tile of all C*T rows stays in cache while every row
block reuses it), row blocks inside (with `k_chunk`, a loop over chunks of the reduction
between the two, for B tiles larger than L1); with `groups` > 1 the column tiles are split into
balanced contiguous ranges run by `scf.parallel` (one per thread). When there are fewer full
column tiles than groups (1x1 convs on a 7x7 or 14x14 image: 49 or 196 columns) the row
blocks are split instead, so such layers still use every thread.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from .irtext import FuncWriter
from .irtext import f32_literal as _finite_literal

__all__ = ["GemmSpec", "emit_gemm", "f32_literal"]


def f32_literal(value: float) -> str:
    """An f32 literal for dense<...> and arith.constant, infinities and NaN as hex bits."""
    if math.isnan(value):
        return "0x7FC00000"
    if math.isinf(value):
        return "0xFF800000" if value < 0 else "0x7F800000"
    return _finite_literal(value)


@dataclass(frozen=True)
class GemmSpec:
    """One generated GEMM function: shapes, addressing and register blocking."""

    name: str
    m: int  # rows of the output
    n: int  # columns computed per row (flat positions)
    c: int  # trip count of the reduction loop
    a_size: int  # elements of the flat A buffer
    b_size: int  # elements of the flat B buffer
    out_size: int  # elements of the flat output buffer
    out_stride: int  # output elements between rows
    mr: int  # rows per register block
    nv: int  # vectors per column tile
    vector: int  # lanes per vector
    a_tap: tuple[int, ...]  # per tap, offset added to A's index
    b_tap: tuple[int, ...]  # per tap, offset added to B's index
    a_cstride: int
    b_cstride: int
    a_istride: int  # A elements between consecutive rows of a block
    a_panel: int  # A elements between consecutive row blocks (mp)
    b_panel: int  # B elements between consecutive column tiles (nt)
    b_padded: bool = False  # B holds full tiles (zero padded): the tail needs no load masks
    init: str = (
        "zero"  # zero | const | row (bias[m]) | col (bias[n], padded to tiles) | load (from out)
    )
    init_value: float = 0.0  # the constant of init="const"
    bias_size: int = 0  # elements of %bias (row: m, col: tiles * tile)
    out_lane_stride: int = 1  # output elements between lanes; > 1 stores lane by lane
    epilogue: object = field(default=None, compare=False)  # epilogue.Epilogue applied before stores
    residual: bool = False  # %res (same layout as %out) feeds the epilogue
    groups: int = 1
    # Batched GEMM (bmm, attention heads): `batch` independent products; product b reads A,
    # B and writes the output (and residual) b * a_batch, b * b_batch, b * out_batch elements in.
    batch: int = 1
    a_batch: int = 0
    b_batch: int = 0
    out_batch: int = 0
    unroll_c: int = 1  # unroll the reduction loop (only when it divides c)
    # > 0: each reduction step also prefetches the B row it reads, this many elements ahead
    # (the next column tile). An implicit GEMM over NCHW planes reads a short run of every
    # channel's plane per tile: C concurrent streams, more than the hardware prefetchers
    # follow, so without this the first row block of each tile waits on memory.
    prefetch_b: int = 0
    # Copy each column tile of B (one tap, every channel) into a contiguous scratch buffer
    # before its row blocks read it. Planes a whole number of pages apart (a 128x128 image)
    # put every channel's run in the same cache sets, so the tile the row blocks share did
    # not stay in L1 or L2; packed, it does (as BLAS packs its B panels). The planner decides
    # when the copy pays. Single tap, no stream, no batch.
    pack_b: bool = False
    # > 0: the reduction runs in chunks of this many steps of c, each chunk over every row
    # block of a column tile before the next, the partial sums kept in a scratch tile (the
    # first chunk starts from `init`, the epilogue follows the last). A B panel whose C rows
    # do not fit L1 is then read from L1 by all but the first row block of each chunk,
    # instead of from L2 by every row block. A multiple of `unroll_c`; no stream, no batch.
    k_chunk: int = 0
    # A values four at a time, each FMA taking its multiplier from a lane (AArch64's by-element
    # FMA), instead of one broadcast load per value: fewer load instructions beside the FMAs.
    a_lanes: bool = False
    # Block sparsity: one operand is a stream of kept weight blocks (see passes/dense/block_sparse.py).
    # "a": A holds the stream, R = `stream_rows` output rows per block, B is read at the
    # channel of each stream entry; "b": B holds the stream, one column tile per block, A is
    # read at the channel. `%off[key]..%off[key + 1]` are the stream entries of block `key`
    # (the row block, or the column tile), `%chan[k]` the channel of entry k; the reduction
    # loop runs over those entries instead of 0..c.
    stream: str = ""
    stream_rows: int = 0
    stream_blocks: int = 0  # row blocks (or column tiles) the offsets describe
    stream_size: int = 0  # stream entries (elements of %chan)
    # Independent accumulator sets the stream loop deals its entries to, in turn (summed after
    # the loop): a register block of few vectors (a batch-1 linear) otherwise has too few FMA
    # chains to cover the FMA latency.
    stream_split: int = 1
    # Column tiles where each thread group starts (groups + 1 entries, the last = full tiles),
    # when tiles carry unequal work (a block stream's tiles keep different numbers of
    # entries); empty: equal counts of tiles.
    group_bounds: tuple[int, ...] = ()
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def tile(self) -> int:
        return self.nv * self.vector

    @property
    def chunks(self) -> int:
        """Reduction chunks (1: the reduction runs whole)."""
        return -(-self.c // self.k_chunk) if self.k_chunk else 1

    @property
    def full_tiles(self) -> int:
        return self.n // self.tile

    @property
    def tail(self) -> int:
        return self.n % self.tile

    def signature(self) -> str:
        args = [f"%a: memref<{self.a_size}xf32>", f"%b: memref<{self.b_size}xf32>"]
        if self.stream:
            args += [
                f"%off: memref<{self.stream_blocks + 1}xi32>",
                f"%chan: memref<{max(1, self.stream_size)}xi32>",
            ]
        if self.init in ("row", "col"):
            args.append(f"%bias: memref<{self.bias_size}xf32>")
        if self.residual:
            args.append(f"%res: memref<{self.out_size}xf32>")
        args.append(f"%out: memref<{self.out_size}xf32>")
        return f"func.func private @{self.name}({', '.join(args)})"


class _GemmEmitter:
    def __init__(self, spec: GemmSpec) -> None:
        self.s = spec
        self.w = FuncWriter()
        self.vt = f"vector<{spec.vector}xf32>"
        self.mt = f"vector<{spec.vector}xi1>"
        self.origin: tuple[str, str, str] | None = None  # A, B, out offsets of the batch product
        self.chunk: str | None = None  # the reduction chunk the row blocks run (k_chunk)
        # Reduction chunks keep their partial sums in a scratch tile (%kp: the `m` rows of one
        # column tile), whole vectors, whatever the output's layout (lane by lane, masked).
        self.partials = f"memref<{spec.m * spec.tile}xf32>" if spec.chunks > 1 else None
        # The B the register blocks read: the argument, or with pack_b the packed tile, whose
        # addressing (`self.s`) is a spec of its own; `self.spec` keeps the original.
        self.spec = spec
        self.b_name = "%b"
        self.packed: GemmSpec | None = None
        if spec.pack_b:
            self.packed = dataclasses.replace(
                spec,
                b_tap=(0,),
                b_cstride=spec.tile,
                b_size=spec.c * spec.tile,
                b_padded=True,
                prefetch_b=0,
            )
            self.s = self.packed
            self.b_name = "%bp"

    # ----- small helpers ------------------------------------------------------------------
    def add(self, base: str, offset: int) -> str:
        return self.w.add_index(base, offset)

    def mul(self, value: str, factor: int) -> str:
        return self.w.mul_index(value, factor)

    def mask(self, lanes: int) -> str:
        return self.w.raw_const(f"vector.constant_mask [{lanes}] : {self.mt}", f"mask{lanes}")

    def zero_vec(self) -> str:
        return self.w.const("dense<0.0>", self.vt)

    # ----- the register block -------------------------------------------------------------
    def block(
        self,
        mr: int,
        nv: int,
        last_lanes: int,
        a_base: str,
        b_base: str,
        o_base: str,
        m0: str,
        n0: str,
    ) -> None:
        """mr x nv accumulators over the whole reduction; the last vector has last_lanes lanes."""
        s, w = self.s, self.w
        masked = last_lanes < s.vector
        if self.origin is not None:
            a_base, b_base, o_base = (
                w.op(f"arith.addi {base}, {at} : index", "i")
                for base, at in zip((a_base, b_base, o_base), self.origin)
            )
        if self.chunk is None:
            flat = self._initial(mr, nv, masked, last_lanes, o_base, m0, n0)
        else:
            # The first chunk starts from init, later ones from their partial sums.
            flat = self._if_else(
                w.op(f"arith.cmpi eq, {self.chunk}, {w.index(0)} : index", "b"),
                lambda: self._initial(mr, nv, masked, last_lanes, o_base, m0, n0),
                lambda: self._initial(mr, nv, masked, last_lanes, o_base, m0, n0, partial=True),
                results=mr * nv,
            )
        if s.stream and s.stream_split > 1:
            values = self._split_stream_loop(
                flat, mr, nv, masked, last_lanes, a_base, b_base, m0, n0
            )
        else:
            values = self._reduction_loop(flat, mr, nv, masked, last_lanes, a_base, b_base, m0, n0)
        if self.chunk is None:
            self._finish(values, mr, nv, masked, last_lanes, o_base, m0, epilogue=True)
            return
        self._if_else(
            w.op(f"arith.cmpi eq, {self.chunk}, {w.index(s.chunks - 1)} : index", "b"),
            lambda: self._finish(values, mr, nv, masked, last_lanes, o_base, m0, epilogue=True),
            lambda: self._finish(values, mr, nv, masked, last_lanes, o_base, m0, epilogue=False),
        )

    def _if_else(self, cond: str, then, otherwise, results: int = 0) -> list[str]:
        """An scf.if on `cond` whose branches `then` and `otherwise` write; with `results`,
        each returns that many vectors, which the if yields and this returns."""
        w = self.w
        types = ", ".join([self.vt] * results)
        res = w.fresh("if")
        head = f"{res}:{results} = scf.if {cond} -> ({types})" if results else f"scf.if {cond}"
        w.line(f"{head} {{")
        for k, branch in enumerate((then, otherwise)):
            if k:
                w.line("} else {")
            w.indent()
            values = branch()
            if results:
                w.line(f"scf.yield {', '.join(values)} : {types}")
            w.dedent()
        w.line("}")
        return [f"{res}#{k}" for k in range(results)]

    def _initial(
        self,
        mr: int,
        nv: int,
        masked: bool,
        last_lanes: int,
        o_base: str,
        m0: str,
        n0: str,
        partial: bool = False,
    ) -> list[str]:
        """The accumulators a register block starts from: `init`, or with `partial` the
        partial sums of the reduction chunks before."""
        s, w, vt = self.s, self.w, self.vt
        accs = []
        for i in range(mr):
            row = []
            if s.init == "row" and not partial:
                bias = w.op(
                    f"memref.load %bias[{self.add(m0, i)}] : memref<{s.bias_size}xf32>", "s"
                )
                bvec = w.op(f"vector.broadcast {bias} : f32 to {vt}", "v")
            for j in range(nv):
                if partial:
                    idx = self._partial_index(m0, i, j)
                    row.append(w.op(f"vector.load %kp[{idx}] : {self.partials}, {vt}", "v"))
                elif s.init == "load":
                    row.append(self._load_out(o_base, i, j, masked and j == nv - 1, last_lanes))
                elif s.init == "zero":
                    row.append(self.zero_vec())
                elif s.init == "const":
                    row.append(w.const(f"dense<{f32_literal(s.init_value)}>", vt))
                elif s.init == "row":
                    row.append(bvec)
                elif i == 0:  # "col"
                    idx = self.add(n0, j * s.vector)
                    row.append(
                        w.op(f"vector.load %bias[{idx}] : memref<{s.bias_size}xf32>, {vt}", "v")
                    )
                else:
                    row.append(accs[0][j])
            accs.append(row)
        return [a for row in accs for a in row]

    def _finish(
        self,
        values: list[str],
        mr: int,
        nv: int,
        masked: bool,
        last_lanes: int,
        o_base: str,
        m0: str,
        epilogue: bool,
    ) -> None:
        """Stores the accumulators, through the epilogue (and residual) when `epilogue`;
        otherwise (a reduction chunk's partial sums) to the scratch tile."""
        s, w, vt = self.s, self.w, self.vt
        for i in range(mr):
            for j in range(nv):
                lanes = last_lanes if masked and j == nv - 1 else s.vector
                value = values[i * nv + j]
                if not epilogue:
                    idx = self._partial_index(m0, i, j)
                    w.line(f"vector.store {value}, %kp[{idx}] : {self.partials}, {vt}")
                    continue
                if epilogue and s.epilogue is not None and not s.epilogue.empty:
                    residual = None
                    if s.residual:
                        residual = self._load_out(o_base, i, j, lanes < s.vector, lanes, "%res")
                    value = s.epilogue.render(w, value, vt, self.mt, residual)
                self._store_out(value, o_base, i, j, lanes)

    def _partial_index(self, m0: str, i: int, j: int) -> str:
        s = self.s
        return self.add(self.mul(self.add(m0, i), s.tile), j * s.vector)

    def _reduction_loop(
        self,
        flat: list[str],
        mr: int,
        nv: int,
        masked: bool,
        last_lanes: int,
        a_base: str,
        b_base: str,
        m0: str,
        n0: str,
    ) -> list[str]:
        """The loop over the reduction (every input, or a block's stream entries); its results."""
        s, w, vt = self.s, self.w, self.vt
        unroll = s.unroll_c if s.c % s.unroll_c == 0 and not s.stream else 1
        names = [w.fresh("acc") for _ in flat]
        res = w.fresh("r")
        iters = ", ".join(f"{n} = {v}" for n, v in zip(names, flat))
        types = ", ".join([vt] * len(flat))
        cv = w.fresh("c")
        if s.stream:
            lo, hi = self._stream_bounds(m0, n0)
        elif self.chunk is not None:
            steps = s.k_chunk // unroll
            lo = self.mul(self.chunk, steps)
            hi = w.op(f"arith.minsi {self.add(lo, steps)}, {w.index(s.c // unroll)} : index", "i")
        else:
            lo, hi = w.index(0), w.index(s.c // unroll)
        w.line(
            f"{res}:{len(flat)} = scf.for {cv} = {lo} to {hi} step {w.index(1)} "
            f"iter_args({iters}) -> ({types}) {{"
        )
        w.indent()
        cur = [[names[i * nv + j] for j in range(nv)] for i in range(mr)]
        if s.stream:
            self._stream_entry(cv, cur, mr, nv, masked, last_lanes, a_base, b_base)
        else:
            a_first = w.op(
                f"arith.addi {a_base}, {self.mul(self.mul(cv, unroll), s.a_cstride)} : index", "i"
            )
            a_values = self._a_values(a_first, mr, unroll) if s.a_lanes else None
            for u in range(unroll):
                cu = cv if unroll == 1 else self.add(self.mul(cv, unroll), u)
                ab = w.op(f"arith.addi {a_base}, {self.mul(cu, s.a_cstride)} : index", "i")
                bb = w.op(f"arith.addi {b_base}, {self.mul(cu, s.b_cstride)} : index", "i")
                if s.prefetch_b:
                    self._prefetch_b(bb)
                self._fmas(cur, mr, nv, masked, last_lanes, ab, bb, a_values, u * s.a_cstride)
        w.line(f"scf.yield {', '.join(a for row in cur for a in row)} : {types}")
        w.dedent()
        w.line("}")
        return [f"{res}#{k}" for k in range(len(flat))]

    def _prefetch_b(self, bb: str) -> None:
        """Prefetches every cache line of the first tap's B run `prefetch_b` elements past
        `bb`, the index clamped into B (a prefetch past the buffer would be out of bounds)."""
        s, w = self.spec, self.w
        start = s.b_tap[0] + s.prefetch_b
        last = w.index(s.b_size - 1)
        for offset in sorted({*range(start, start + s.tile, 16), start + s.tile - 1}):
            idx = w.op(f"arith.minsi {self.add(bb, offset)}, {last} : index", "i")
            w.line(f"memref.prefetch %b[{idx}], read, locality<3>, data : memref<{s.b_size}xf32>")

    def _pack_tile(self, b_base: str, nv: int, last_lanes: int) -> None:
        """Copies the column tile at `b_base` (every channel, `nv` vectors, the last with
        `last_lanes` lanes, zeros beyond) into %bp, channel after channel, `tile` apart."""
        s, w = self.spec, self.w
        masked = last_lanes < s.vector and not s.b_padded
        cv = w.fresh("pc")
        w.line(f"scf.for {cv} = {w.index(0)} to {w.index(s.c)} step {w.index(1)} {{")
        w.indent()
        src = w.op(f"arith.addi {b_base}, {self.mul(cv, s.b_cstride)} : index", "i")
        if s.prefetch_b:
            self._prefetch_b(src)
        dst = self.mul(cv, s.tile)
        for j in range(nv):
            last = masked and j == nv - 1
            value = self._load(
                "%b", s.b_size, self.add(src, s.b_tap[0] + j * s.vector), last, last_lanes
            )
            w.line(
                f"vector.store {value}, %bp[{self.add(dst, j * s.vector)}] : "
                f"memref<{self.packed.b_size}xf32>, {self.vt}"
            )
        w.dedent()
        w.line("}")

    def _fmas(
        self,
        cur,
        mr: int,
        nv: int,
        masked: bool,
        last_lanes: int,
        ab: str,
        bb: str,
        a_values: dict | None,
        a_offset: int,
    ) -> None:
        """Every tap's loads and FMAs for one reduction step into the accumulators `cur` (updated).

        `ab` / `bb` address the step in A / B; `a_values` holds preloaded A splats keyed by
        offset from the first step (`a_offset` is this step's)."""
        s, w, vt = self.s, self.w, self.vt
        for t in range(len(s.b_tap)):
            bvecs = []
            for j in range(nv):
                idx = self.add(bb, s.b_tap[t] + j * s.vector)
                need_mask = masked and j == nv - 1 and not s.b_padded
                bvecs.append(self._load(self.b_name, s.b_size, idx, need_mask, last_lanes))
            for i in range(mr):
                if a_values is not None:
                    avec = a_values[a_offset + s.a_tap[t] + i * s.a_istride]
                else:
                    idx = self.add(ab, s.a_tap[t] + i * s.a_istride)
                    scalar = w.op(f"memref.load %a[{idx}] : memref<{s.a_size}xf32>", "s")
                    avec = w.op(f"vector.broadcast {scalar} : f32 to {vt}", "v")
                for j in range(nv):
                    cur[i][j] = w.op(f"vector.fma {avec}, {bvecs[j]}, {cur[i][j]} : {vt}", "f")

    def _stream_entry(
        self,
        entry: str,
        cur,
        mr: int,
        nv: int,
        masked: bool,
        last_lanes: int,
        a_base: str,
        b_base: str,
    ) -> None:
        """One stream entry: the entry indexes the weight operand, its channel the data operand."""
        s, w = self.s, self.w
        channel = w.op(f"memref.load %chan[{entry}] : memref<{max(1, s.stream_size)}xi32>", "s")
        channel = w.op(f"arith.index_cast {channel} : i32 to index", "i")
        a_step, b_step = (entry, channel) if s.stream == "a" else (channel, entry)
        ab = w.op(f"arith.addi {a_base}, {self.mul(a_step, s.a_cstride)} : index", "i")
        bb = w.op(f"arith.addi {b_base}, {self.mul(b_step, s.b_cstride)} : index", "i")
        a_values = self._a_values(ab, mr, 1) if s.a_lanes else None
        self._fmas(cur, mr, nv, masked, last_lanes, ab, bb, a_values, 0)

    def _split_stream_loop(
        self,
        flat: list[str],
        mr: int,
        nv: int,
        masked: bool,
        last_lanes: int,
        a_base: str,
        b_base: str,
        m0: str,
        n0: str,
    ) -> list[str]:
        """The stream loop dealing entries to `stream_split` accumulator sets, then the entries
        left over into the first set, then the sets summed; returns the sums."""
        s, w, vt = self.s, self.w, self.vt
        split, count = s.stream_split, len(flat)
        lo, hi = self._stream_bounds(m0, n0)
        span = w.op(f"arith.subi {hi}, {lo} : index", "i")
        whole = self.mul(w.op(f"arith.divui {span}, {w.index(split)} : index", "i"), split)
        mid = w.op(f"arith.addi {lo}, {whole} : index", "i")
        inits = flat + [self.zero_vec()] * (count * (split - 1))
        names = [w.fresh("acc") for _ in inits]
        res, k = w.fresh("r"), w.fresh("c")
        iters = ", ".join(f"{n} = {v}" for n, v in zip(names, inits))
        w.line(
            f"{res}:{len(inits)} = scf.for {k} = {lo} to {mid} step {w.index(split)} "
            f"iter_args({iters}) -> ({', '.join([vt] * len(inits))}) {{"
        )
        w.indent()
        sets = [
            [[names[x * count + i * nv + j] for j in range(nv)] for i in range(mr)]
            for x in range(split)
        ]
        for x in range(split):
            self._stream_entry(self.add(k, x), sets[x], mr, nv, masked, last_lanes, a_base, b_base)
        w.line(
            f"scf.yield {', '.join(a for cur in sets for row in cur for a in row)} : "
            f"{', '.join([vt] * len(inits))}"
        )
        w.dedent()
        w.line("}")
        rest = [w.fresh("acc") for _ in range(count)]
        res2, k2 = w.fresh("r"), w.fresh("c")
        iters = ", ".join(f"{n} = {res}#{x}" for x, n in enumerate(rest))
        w.line(
            f"{res2}:{count} = scf.for {k2} = {mid} to {hi} step {w.index(1)} "
            f"iter_args({iters}) -> ({', '.join([vt] * count)}) {{"
        )
        w.indent()
        cur = [[rest[i * nv + j] for j in range(nv)] for i in range(mr)]
        self._stream_entry(k2, cur, mr, nv, masked, last_lanes, a_base, b_base)
        w.line(f"scf.yield {', '.join(a for row in cur for a in row)} : {', '.join([vt] * count)}")
        w.dedent()
        w.line("}")
        values = [f"{res2}#{x}" for x in range(count)]
        for set_index in range(1, split):
            values = [
                w.op(f"arith.addf {v}, {res}#{set_index * count + x} : {vt}", "v")
                for x, v in enumerate(values)
            ]
        return values

    def _stream_bounds(self, m0: str, n0: str) -> tuple[str, str]:
        """The first and past-the-last stream entries of the block this register block is in."""
        s, w = self.s, self.w
        if s.stream == "a":
            key = w.op(f"arith.divui {m0}, {w.index(s.stream_rows)} : index", "i")
        else:
            key = w.op(f"arith.divui {n0}, {w.index(s.tile)} : index", "i")
        bounds = []
        for at in (key, self.add(key, 1)):
            entry = w.op(f"memref.load %off[{at}] : memref<{s.stream_blocks + 1}xi32>", "s")
            bounds.append(w.op(f"arith.index_cast {entry} : i32 to index", "i"))
        return bounds[0], bounds[1]

    def _a_values(self, a_first: str, mr: int, unroll: int) -> dict[int, str]:
        """Splats of every A value one reduction step reads, keyed by offset from ``a_first``.

        Runs of four consecutive values come from one vector load and a lane splat each
        (which the backend folds into by-element FMAs); values outside such runs are loaded
        one by one. Only offsets the step reads are loaded, so nothing past A's end is read."""
        s, w, vt = self.s, self.w, self.vt
        needed = sorted(
            {
                u * s.a_cstride + tap + i * s.a_istride
                for u in range(unroll)
                for tap in s.a_tap
                for i in range(mr)
            }
        )
        values: dict[int, str] = {}
        present = set(needed)
        for off in needed:
            if off in values:
                continue
            if s.vector == 4 and all(off + lane in present for lane in range(4)):
                chunk = w.op(
                    f"vector.load %a[{self.add(a_first, off)}] : memref<{s.a_size}xf32>, {vt}", "v"
                )
                for lane in range(4):
                    values[off + lane] = w.op(
                        f"vector.shuffle {chunk}, {chunk} [{lane}, {lane}, {lane}, {lane}] : {vt}, {vt}",
                        "v",
                    )
            else:
                scalar = w.op(
                    f"memref.load %a[{self.add(a_first, off)}] : memref<{s.a_size}xf32>", "s"
                )
                values[off] = w.op(f"vector.broadcast {scalar} : f32 to {vt}", "v")
        return values

    def _out_index(self, o_base: str, i: int, j: int, lane: int = 0) -> str:
        s = self.s
        return self.add(o_base, i * s.out_stride + (j * s.vector + lane) * s.out_lane_stride)

    def _load_out(
        self, o_base: str, i: int, j: int, masked: bool, lanes: int, buf: str = "%out"
    ) -> str:
        """The vector at output position (i, j) of `buf`: %out, or %res (same layout)."""
        s, w = self.s, self.w
        if s.out_lane_stride == 1:
            return self._load(buf, s.out_size, self._out_index(o_base, i, j), masked, lanes)
        vec = self.zero_vec()
        for lane in range(lanes if masked else s.vector):
            x = w.op(
                f"memref.load {buf}[{self._out_index(o_base, i, j, lane)}] : memref<{s.out_size}xf32>",
                "s",
            )
            vec = w.op(f"vector.insert {x}, {vec} [{lane}] : f32 into {self.vt}", "v")
        return vec

    def _store_out(self, value: str, o_base: str, i: int, j: int, lanes: int) -> None:
        s, w = self.s, self.w
        if s.out_lane_stride != 1:
            for lane in range(lanes):
                x = w.op(f"vector.extract {value}[{lane}] : f32 from {self.vt}", "s")
                w.line(
                    f"memref.store {x}, %out[{self._out_index(o_base, i, j, lane)}] : memref<{s.out_size}xf32>"
                )
        elif lanes < s.vector:
            w.line(
                f"vector.maskedstore %out[{self._out_index(o_base, i, j)}], {self.mask(lanes)}, {value} : "
                f"memref<{s.out_size}xf32>, {self.mt}, {self.vt}"
            )
        else:
            w.line(
                f"vector.store {value}, %out[{self._out_index(o_base, i, j)}] : memref<{s.out_size}xf32>, {self.vt}"
            )

    def _load(self, buf: str, size: int, idx: str, masked: bool, lanes: int) -> str:
        if masked:
            return self.w.op(
                f"vector.maskedload {buf}[{idx}], {self.mask(lanes)}, {self.zero_vec()} : "
                f"memref<{size}xf32>, {self.mt}, {self.vt} into {self.vt}",
                "v",
            )
        return self.w.op(f"vector.load {buf}[{idx}] : memref<{size}xf32>, {self.vt}", "v")

    # ----- one column tile, all row blocks (or a group's range of them) --------------------
    def tile(
        self, nt: str, nv: int, last_lanes: int, rows: tuple[str, str, str] | None = None
    ) -> None:
        """`rows` = (lo, hi, last): only full row blocks [lo, hi), the remainder where `last`."""
        s, w = self.s, self.w
        b_base = self.mul(nt, s.b_panel)
        if self.packed is not None:
            self._pack_tile(b_base, nv, last_lanes)
            b_base = w.index(0)
        o_col = self.mul(nt, s.tile * s.out_lane_stride)
        n0 = self.mul(nt, s.tile)
        full_blocks, rem_rows = divmod(s.m, s.mr)
        lo, hi, last = rows or (w.index(0), w.index(full_blocks), None)
        if self.partials:
            self.chunk = w.fresh("kc")
            w.line(
                f"scf.for {self.chunk} = {w.index(0)} to {w.index(s.chunks)} step {w.index(1)} {{"
            )
            w.indent()
        if full_blocks:
            mp = w.fresh("mp")
            w.line(f"scf.for {mp} = {lo} to {hi} step {w.index(1)} {{")
            w.indent()
            self._rows(mp, s.mr, nv, last_lanes, b_base, o_col, n0)
            w.dedent()
            w.line("}")
        if rem_rows:
            if last:
                w.line(f"scf.if {last} {{")
                w.indent()
            self._rows(w.index(full_blocks), rem_rows, nv, last_lanes, b_base, o_col, n0)
            if last:
                w.dedent()
                w.line("}")
        if self.chunk is not None:
            w.dedent()
            w.line("}")
            self.chunk = None

    def _rows(
        self, mp: str, mr: int, nv: int, last_lanes: int, b_base: str, o_col: str, n0: str
    ) -> None:
        s, w = self.s, self.w
        m0 = self.mul(mp, s.mr)
        # A stream of row blocks: the register block reads rows m0 % R.. of each entry.
        a_base = (
            w.op(f"arith.remui {m0}, {w.index(s.stream_rows)} : index", "i")
            if s.stream == "a"
            else self.mul(mp, s.a_panel)
        )
        o_base = w.op(f"arith.addi {self.mul(m0, s.out_stride)}, {o_col} : index", "i")
        self.block(mr, nv, last_lanes, a_base, b_base, o_base, m0, n0)

    def _open_batch(self, groups: int) -> list[str]:
        """Opens the loop over the products of a batch; returns the lines that close it.

        With several groups and enough products to share out evenly, each group runs a
        contiguous range of whole products (one parallel region, no split inside a product);
        otherwise the products run in turn and each splits over the groups as usual."""
        s, w = self.s, self.w
        closing = ["}"]
        lo, hi = w.index(0), w.index(s.batch)
        if groups > 1 and (s.batch % groups == 0 or s.batch >= 4 * groups):
            g = w.fresh("bg")
            w.line(
                f"scf.parallel ({g}) = ({w.index(0)}) to ({w.index(groups)}) step ({w.index(1)}) {{"
            )
            w.indent()
            lo = w.op(f"arith.divui {self.mul(g, s.batch)}, {w.index(groups)} : index", "i")
            hi = w.op(
                f"arith.divui {self.mul(self.add(g, 1), s.batch)}, {w.index(groups)} : index", "i"
            )
            closing = ["}", "scf.reduce", "}"]
        bi = w.fresh("bi")
        w.line(f"scf.for {bi} = {lo} to {hi} step {w.index(1)} {{")
        w.indent()
        self.origin = (self.mul(bi, s.a_batch), self.mul(bi, s.b_batch), self.mul(bi, s.out_batch))
        return closing

    def _table(self, index: str, values: tuple[int, ...], offset: int = 0) -> str:
        """values[index - offset] for an index in [offset, offset + len(values)), as selects."""
        w = self.w
        result = w.index(values[0])
        for at, value in enumerate(values[1:], start=1):
            hit = w.op(f"arith.cmpi eq, {index}, {w.index(at + offset)} : index", "b")
            result = w.op(f"arith.select {hit}, {w.index(value)}, {result} : index", "i")
        return result

    def emit(self) -> str:
        s, w = self.s, self.w
        full, tail = s.full_tiles, s.tail
        tail_nv = -(-tail // s.vector)
        tail_lanes = tail - (tail_nv - 1) * s.vector if tail else s.vector
        row_blocks = s.m // s.mr
        split_rows = full < s.groups <= row_blocks
        groups = s.groups if split_rows else max(1, min(s.groups, full))
        closing = self._open_batch(s.groups) if s.batch > 1 else None
        if closing and len(closing) > 1:
            groups = 1  # the groups share out the products instead

        scratch = []
        if self.packed is not None:
            scratch.append(
                f"%bp = memref.alloca() {{alignment = 64 : i64}} : memref<{self.packed.b_size}xf32>"
            )
        if self.partials:
            scratch.append(f"%kp = memref.alloca() {{alignment = 64 : i64}} : {self.partials}")
        if groups == 1:
            for line in scratch:
                w.line(line)

        def full_loop(lo: str, hi: str) -> None:
            nt = w.fresh("nt")
            w.line(f"scf.for {nt} = {lo} to {hi} step {w.index(1)} {{")
            w.indent()
            self.tile(nt, s.nv, s.vector)
            w.dedent()
            w.line("}")

        if groups == 1:
            if full:
                full_loop(w.index(0), w.index(full))
            if tail:
                self.tile(w.index(full), tail_nv, tail_lanes)
        else:
            g = w.fresh("g")
            w.line(
                f"scf.parallel ({g}) = ({w.index(0)}) to ({w.index(groups)}) step ({w.index(1)}) {{"
            )
            w.indent()
            for line in scratch:
                w.line(line)  # one per group: the groups run in parallel
            # Group g runs [g*k/groups, (g+1)*k/groups) of the k column tiles (the last group
            # also the tail), or of the k row blocks (the last also the remainder rows).
            k = row_blocks if split_rows else full
            g1 = self.add(g, 1)
            if not split_rows and len(s.group_bounds) == groups + 1:
                lo, hi = (
                    self._table(g, s.group_bounds[:-1]),
                    self._table(g1, s.group_bounds[1:], offset=1),
                )
            else:
                lo = w.op(f"arith.divui {self.mul(g, k)}, {w.index(groups)} : index", "i")
                hi = w.op(f"arith.divui {self.mul(g1, k)}, {w.index(groups)} : index", "i")
            last = (
                w.op(f"arith.cmpi eq, {g}, {w.index(groups - 1)} : index", "b")
                if tail or split_rows
                else None
            )
            if split_rows:
                rows = (lo, hi, last)
                for nt in range(full):
                    self.tile(w.index(nt), s.nv, s.vector, rows)
                if tail:
                    self.tile(w.index(full), tail_nv, tail_lanes, rows)
            else:
                full_loop(lo, hi)
            if tail and not split_rows:
                w.line(f"scf.if {last} {{")
                w.indent()
                self.tile(w.index(full), tail_nv, tail_lanes)
                w.dedent()
                w.line("}")
            w.line("scf.reduce")
            w.dedent()
            w.line("}")
        for text in closing or ():
            if text == "}":
                w.dedent()
            w.line(text)
        w.line("return")
        return f"{self.spec.signature()} {{\n{w.body()}\n}}\n"


def emit_gemm(spec: GemmSpec) -> str:
    """The func.func text of `spec` (private; flat memref arguments)."""
    if spec.mr < 1 or spec.nv < 1 or spec.vector < 1:
        raise ValueError(f"{spec.name}: bad register block {spec.mr}x{spec.nv}x{spec.vector}")
    if len(spec.a_tap) != len(spec.b_tap):
        raise ValueError(f"{spec.name}: {len(spec.a_tap)} A taps but {len(spec.b_tap)} B taps")
    if spec.stream == "a" and (spec.stream_rows < 1 or spec.stream_rows % spec.mr):
        raise ValueError(
            f"{spec.name}: {spec.mr}-row register blocks do not divide {spec.stream_rows}-row weight blocks"
        )
    if spec.k_chunk and (spec.stream or spec.batch > 1 or spec.k_chunk % spec.unroll_c):
        raise ValueError(
            f"{spec.name}: k_chunk needs no stream, no batch and a multiple of unroll_c"
        )
    if spec.pack_b and (len(spec.b_tap) != 1 or spec.stream or spec.batch > 1):
        raise ValueError(f"{spec.name}: pack_b needs one tap, no stream and no batch")
    return _GemmEmitter(spec).emit()
