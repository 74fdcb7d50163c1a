"""Emit one pattern-pruned 3x3 conv as an MLIR function over memrefs (upstream dialects only).

Generated function (``O`` filters, ``P`` patterns, ``T`` taps, ``C*s x Hp x Wq`` padded
phase-split input, see geometry.py)::

    func.func @NAME(%input: memref<CSxHpxWqxf32>, %filter_order: memref<Oxi32>,
                    %offsets: memref<(O*P+1)xi32>, %channels: memref<?xi32>,
                    %weights: memref<?xTxf32>, %bias: memref<Oxf32>,
                    %output: memref<OxHoxWoxf32>, %f_begin: index, %f_end: index)

``%output`` may instead be a strided view into a larger buffer (``OutputFrame``): a conv
whose only consumer is another stride-1 conv writes into that conv's padded input, so the
consumer needs no padding copy.

With channel blocking (``schedule.tile_channels`` < C) one more argument follows
``%offsets``: ``%channel_splits: memref<(O*P)x(CB+1)xi32>`` (see ``fkw.channel_splits``).

It computes reordered filters ``[f_begin, f_end)`` (a thread's share) into
``output[filter_order[f]]``. Loop nest (loop_order "rows_outer"; "filters_outer" moves the
filter loop outermost)::

    for each row block (tile_rows output rows)          -- rows of every channel stay in L2
      for each column block (tile_cols output columns)
        for each block of tile_filters filters in [f_begin, f_end) (then the rest one by one)
          accumulators = bias                            -- filters x rows x vectors, in registers
          for p in patterns:                             -- unrolled at generation time
            for k in offsets[f*P+p] .. offsets[f*P+p+1]: -- scf.for, accumulators as iter_args
              c = channels[k]; w = weights[k, 0..T)
              each input vector the pattern's taps need is loaded once and feeds every
              (tap, row) that reads it (load-redundancy elimination); tap offsets are
              constants of pattern p
          activation; store (masked store for the row's narrower remainder vector)

A block of several filters walks their runs of pattern p in lockstep for as many kernels as
the shortest run has, then each filter's rest alone. Independently pruned filters rarely share
an input channel, so filter blocks add independent FMA chains but no shared loads; measured on
the AVX-512 host, spending the same accumulators on rows stays faster (default: 1 filter).

With channel blocking a loop over blocks of input channels sits between the column blocks and
the filters: each filter runs only its kernels of that block (a contiguous sub-range of each
FKW run), so the block's input rows stay in L1 while all filters reuse them; partial sums go
through the output tile, bias before the first block, activation after the last.

With ``kernel_order = by_channel`` the per-pattern loops become one loop over the filter's
kernels of the channel block, in channel order, and each tap loads at an offset read from a
table (``kernel_args.py``; arguments ``kernel_starts`` and ``tap_offsets`` replace ``offsets``,
``channel_splits`` and ``channels``). Taps then share no loads, but a channel block costs one
loop instead of one per pattern: small blocks, whose input rows stay in L1 while every filter
reads them, become affordable. Measured on Zen 4 at stride 2 (where taps share few loads
anyway): faster on all three of ResNet-50's stride-2 3x3 convs (``_tuned_rules``; figures
in docs/design.md, section 10).

Only the pattern's tap offsets are compile-time constants; weights and channel indices are
runtime arrays, so one generated function serves every weight set of the same layer shape
and library.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .activation import Activation
from .fkw import library_taps
from .geometry import ConvGeometry
from .irtext import FuncWriter, f32_literal, vec_type
from .schedule import Schedule, cpu_target, default_schedule

__all__ = [
    "ARG_NAMES",
    "ColumnBlock",
    "ConvKernelPlan",
    "OutputFrame",
    "RowBlock",
    "emit_conv",
    "plan_conv",
]

ARG_NAMES = (
    "input",
    "filter_order",
    "offsets",
    "channels",
    "weights",
    "bias",
    "output",
    "f_begin",
    "f_end",
)
BY_CHANNEL_ARG_NAMES = ("kernel_starts", "tap_offsets", "weights")  # replace offsets..weights

# Prefetch the first cache line of each input row the block reads; the L1 streamer follows the
# rest of the row. (Prefetching every line costs more load slots than it saves.)
_PREFETCH_ALL_LINES = False
_CACHE_LINE_FLOATS = 16


@dataclass(frozen=True)
class RowBlock:
    """``count`` register blocks of ``rows`` output rows, the first at row ``start``."""

    start: int
    count: int
    rows: int


@dataclass(frozen=True)
class ColumnBlock:
    """``count`` column blocks ``step`` columns apart starting at ``start``.

    vectors: (offset in the block, vector width, lanes stored) of each accumulator vector of a
    row; lanes < width marks the remainder vector, computed on zero padding and stored masked.
    """

    start: int
    count: int
    step: int
    vectors: tuple[tuple[int, int, int], ...]

    @property
    def span(self) -> int:
        return max(off + width for off, width, _ in self.vectors)


@dataclass(frozen=True)
class OutputFrame:
    """Where the output lies when it is written straight into a larger buffer: the next conv's
    zero-bordered padded input. Each output channel is a ``height x width`` plane of that
    buffer, and output pixel (0, 0) sits at (``row``, ``col``). The kernel writes only the
    output's own pixels; the border stays as its owner left it."""

    height: int
    width: int
    row: int
    col: int

    def strided_type(self, shape: tuple[int, int, int]) -> str:
        """The memref type of an output of ``shape`` (O, Ho, Wo) inside this frame."""
        o, ho, wo = shape
        offset = self.row * self.width + self.col
        return (
            f"memref<{o}x{ho}x{wo}xf32, "
            f"strided<[{self.height * self.width}, {self.width}, 1], offset: {offset}>>"
        )


@dataclass(frozen=True)
class ConvKernelPlan:
    """Everything the emitter and the runtime agree on for one generated conv function."""

    geometry: ConvGeometry
    library: np.ndarray  # bool (P, 3, 3)
    schedule: Schedule
    activation: Activation
    func_name: str
    row_blocks: tuple[RowBlock, ...]
    col_blocks: tuple[ColumnBlock, ...]
    covered_cols: int
    channel_blocks: int = 1  # > 1: cache blocking over input channels (schedule.tile_channels)
    target: str = "host"
    output_frame: OutputFrame | None = None  # None: a contiguous (O, Ho, Wo) output

    def __post_init__(self) -> None:
        f, (_, ho, wo) = self.output_frame, self.output_shape
        if f and (min(f.row, f.col) < 0 or f.row + ho > f.height or f.col + wo > f.width):
            raise ValueError(f"output {ho}x{wo} does not fit in {f}")

    @property
    def by_channel(self) -> bool:
        return self.schedule.kernel_order == "by_channel"

    @property
    def arg_names(self) -> tuple[str, ...]:
        """Function arguments in order; ``channel_splits`` only with channel blocking; the
        by-channel kernel order reads kernel ranges and tap offsets instead (kernel_args.py)."""
        if self.by_channel:
            return ARG_NAMES[:2] + BY_CHANNEL_ARG_NAMES + ARG_NAMES[5:]
        if self.channel_blocks == 1:
            return ARG_NAMES
        return ARG_NAMES[:3] + ("channel_splits",) + ARG_NAMES[3:]

    @property
    def taps(self) -> np.ndarray:
        return library_taps(self.library)

    @property
    def num_patterns(self) -> int:
        return int(self.library.shape[0])

    @property
    def taps_per_kernel(self) -> int:
        return int(self.taps.shape[1])

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.geometry.input_buffer_shape(self.covered_cols, self.schedule.row_align)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        g = self.geometry
        return (g.out_channels, g.out_height, g.out_width)

    @property
    def output_type(self) -> str:
        """The memref type of the ``output`` argument."""
        if self.output_frame is None:
            o, ho, wo = self.output_shape
            return f"memref<{o}x{ho}x{wo}xf32>"
        return self.output_frame.strided_type(self.output_shape)

    def signature(self) -> str:
        """The func.func signature line (without body)."""
        g = self.geometry
        cs, hp, wq = self.input_shape
        o = self.output_shape[0]
        t = self.taps_per_kernel
        if self.by_channel:
            kernels = (f"memref<{self.channel_blocks}x{o + 1}xi32>", f"memref<?x{t}xi32>")
        else:
            splits = (
                (f"memref<{o * self.num_patterns}x{self.channel_blocks + 1}xi32>",)
                if self.channel_blocks > 1
                else ()
            )
            kernels = (f"memref<{o * self.num_patterns + 1}xi32>", *splits, "memref<?xi32>")
        types = (
            f"memref<{cs}x{hp}x{wq}xf32>",
            f"memref<{o}xi32>",
            *kernels,
            f"memref<?x{t}xf32>",
            f"memref<{g.out_channels}xf32>",
            self.output_type,
            "index",
            "index",
        )
        args = ", ".join(f"%{n}: {t}" for n, t in zip(self.arg_names, types))
        return f"func.func @{self.func_name}({args})"


def _next_pow2(n: int) -> int:
    return 1 << (n - 1).bit_length()


def plan_conv(
    geometry: ConvGeometry,
    library: np.ndarray,
    schedule: Schedule | None = None,
    activation: Activation | str = "none",
    target: str = "host",
    func_name: str = "pattern_conv",
) -> ConvKernelPlan:
    """Fix row and column blocking of a layer for a schedule (default: from the shape)."""
    geometry.validate()
    lib = np.asarray(library).astype(bool)
    library_taps(lib)
    ho, wo = geometry.out_height, geometry.out_width
    sched = schedule or default_schedule(ho, wo, target, geometry.in_channels, geometry.stride[0])
    vw = sched.vector_width

    tr = min(sched.tile_rows, ho)
    rows = [RowBlock(0, ho // tr, tr)]
    if ho % tr:
        rows.append(RowBlock(ho - ho % tr, 1, ho % tr))

    full, rem = divmod(wo, vw)
    vectors = [(j * vw, vw, vw) for j in range(full)]
    if rem:
        vectors.append((full * vw, _next_pow2(rem), rem))
    per_block = sched.tile_cols // vw
    if len(vectors) <= per_block:
        cols = [ColumnBlock(0, 1, 0, tuple(vectors))]
    else:
        n_full_blocks = full // per_block
        step = per_block * vw
        cols = [ColumnBlock(0, n_full_blocks, step, tuple(vectors[:per_block]))]
        tail = vectors[n_full_blocks * per_block :]
        if tail:
            start = n_full_blocks * step
            cols.append(ColumnBlock(start, 1, 0, tuple((off - start, w, n) for off, w, n in tail)))
    covered = vectors[-1][0] + vectors[-1][1]
    tc = sched.tile_channels
    channel_blocks = -(-geometry.in_channels // tc) if tc else 1
    return ConvKernelPlan(
        geometry=geometry,
        library=lib,
        schedule=sched,
        activation=Activation.make(activation),
        func_name=func_name,
        row_blocks=tuple(rows),
        col_blocks=tuple(cols),
        covered_cols=covered,
        channel_blocks=channel_blocks,
        target=target,
    )


class _ConvEmitter:
    """Writes the body of one plan's function. Methods mirror the loop nest."""

    def __init__(self, plan: ConvKernelPlan) -> None:
        self.plan = plan
        self.g = plan.geometry
        self.w = FuncWriter()
        self.taps = [[(int(ky), int(kx)) for ky, kx in t] for t in plan.taps]
        cs, hp, wq = plan.input_shape
        o = plan.output_shape[0]
        self.t_in = f"memref<{cs}x{hp}x{wq}xf32>"
        self.t_order = f"memref<{o}xi32>"
        self.t_offsets = f"memref<{o * plan.num_patterns + 1}xi32>"
        self.t_chan = "memref<?xi32>"
        self.t_w = f"memref<?x{plan.taps_per_kernel}xf32>"
        self.t_bias = f"memref<{o}xf32>"
        self.t_out = plan.output_type
        self.t_splits = f"memref<{o * plan.num_patterns}x{plan.channel_blocks + 1}xi32>"
        self.t_starts = f"memref<{plan.channel_blocks}x{o + 1}xi32>"
        self.t_taps = f"memref<?x{plan.taps_per_kernel}xi32>"

    # ----- small helpers -------------------------------------------------------------
    def idx(self, v: int) -> str:
        return self.w.index(v)

    def add(self, a: str, k: int) -> str:
        return a if k == 0 else self.w.op(f"arith.addi {a}, {self.idx(k)} : index")

    def mul(self, a: str, k: int) -> str:
        return a if k == 1 else self.w.op(f"arith.muli {a}, {self.idx(k)} : index")

    def input_row(self, base: str, row: int) -> str:
        """Index of the start of input row ``row`` (counted in padded rows) after ``base``.

        On AArch64 the row length is a value LLVM cannot see through (``self.row_stride``),
        so each row gets its own base register and the loads along it keep byte offsets
        below 256: one-uop ``ldur``s. With constant rows, LLVM folds every load into one base
        plus a large constant, which costs an address add (or ``ldr q``'s extra uop on
        Neoverse-class cores) per load."""
        if self.row_stride is None:
            return self.add(base, row * self.plan.input_shape[2])
        if row == 0:
            return base
        step = (
            self.row_stride
            if row == 1
            else self.w.op(f"arith.muli {self.row_stride}, {self.idx(row)} : index")
        )
        return self.w.op(f"arith.addi {base}, {step} : index")

    def load_index(self, memref: str, type_: str, i: str) -> str:
        v = self.w.op(f"memref.load %{memref}[{i}] : {type_}")
        return self.w.op(f"arith.index_cast {v} : i32 to index")

    def loop(self, lb: str, ub: str, step: str, fn) -> None:
        iv = self.w.fresh("i")
        self.w.line(f"scf.for {iv} = {lb} to {ub} step {step} {{")
        self.w.indent()
        fn(iv)
        self.w.dedent()
        self.w.line("}")

    def loop_acc(
        self, lb: str, ub: str, step: str, accs: list[str], types: list[str], fn
    ) -> list[str]:
        res, iv = self.w.fresh("r"), self.w.fresh("k")
        args = [self.w.fresh("a") for _ in accs]
        n = len(accs)
        head = f"{res}:{n}" if n > 1 else res
        inits = ", ".join(f"{a} = {x}" for a, x in zip(args, accs))
        self.w.line(
            f"{head} = scf.for {iv} = {lb} to {ub} step {step} iter_args({inits}) -> ({', '.join(types)}) {{"
        )
        self.w.indent()
        out = fn(iv, args)
        self.w.line(f"scf.yield {', '.join(out)} : {', '.join(types)}")
        self.w.dedent()
        self.w.line("}")
        return [f"{res}#{i}" for i in range(n)] if n > 1 else [res]

    # ----- loop nest ----------------------------------------------------------------
    def over_rows(self, fn) -> None:
        for rb in self.plan.row_blocks:
            if rb.count == 0:
                continue
            if rb.count == 1:
                fn(self.idx(rb.start), rb.rows)
            else:
                end = rb.start + rb.count * rb.rows
                self.loop(
                    self.idx(rb.start),
                    self.idx(end),
                    self.idx(rb.rows),
                    lambda r, rb=rb: fn(r, rb.rows),
                )

    def over_cols(self, fn) -> None:
        for cb in self.plan.col_blocks:
            if cb.count == 0:
                continue
            if cb.count == 1:
                fn(self.idx(cb.start), cb.vectors)
            else:
                end = cb.start + cb.count * cb.step
                self.loop(
                    self.idx(cb.start),
                    self.idx(end),
                    self.idx(cb.step),
                    lambda c, cb=cb: fn(c, cb.vectors),
                )

    def over_filters(self, fn) -> None:
        """Calls ``fn`` with register blocks of ``tile_filters`` adjacent filters, then the
        left-over filters of the range one at a time."""
        nf = self.plan.schedule.tile_filters
        if nf == 1:
            self.loop("%f_begin", "%f_end", self.idx(1), lambda f: fn([f]))
            return
        w = self.w
        n = w.op("arith.subi %f_end, %f_begin : index")
        tail = w.op(f"arith.remui {n}, {self.idx(nf)} : index")
        mid = w.op(f"arith.subi %f_end, {tail} : index")
        self.loop("%f_begin", mid, self.idx(nf), lambda f: fn([self.add(f, i) for i in range(nf)]))
        self.loop(mid, "%f_end", self.idx(1), lambda f: fn([f]))

    def over_channel_blocks(self, fn) -> None:
        if self.plan.channel_blocks == 1:
            fn(None)
        else:
            self.loop(self.idx(0), self.idx(self.plan.channel_blocks), self.idx(1), fn)

    def emit(self) -> str:
        cs, hp, wq = self.plan.input_shape
        self.t_flat = f"memref<{cs * hp * wq}xf32>"
        self.flat = self.w.raw_const(
            f"memref.collapse_shape %input [[0, 1, 2]] : {self.t_in} into {self.t_flat}", "flat"
        )
        self.row_stride = None
        if cpu_target(self.plan.target).triple.startswith("aarch64"):
            # An empty inline-asm statement hides the constant row length from LLVM.
            wq_i64 = self.w.raw_const(f"arith.constant {wq} : i64", "wq_i64")
            hidden = self.w.raw_const(
                f'llvm.inline_asm "", "=r,0" {wq_i64} : (i64) -> i64', "wq_hidden"
            )
            self.row_stride = self.w.raw_const(
                f"arith.index_cast {hidden} : i64 to index", "row_stride"
            )
        if self.plan.schedule.prefetch:
            kdim = self.w.raw_const(f"memref.dim %channels, {self.idx(0)} : {self.t_chan}", "kdim")
            self.k_last = self.w.raw_const(f"arith.subi {kdim}, {self.idx(1)} : index", "klast")
        if self.plan.schedule.loop_order == "rows_outer":
            self.over_rows(
                lambda r0, nr: self.over_cols(
                    lambda c0, vecs: self.over_channel_blocks(
                        lambda cb: self.over_filters(
                            lambda fs: self.block(fs, r0, nr, c0, vecs, cb)
                        )
                    )
                )
            )
        else:
            self.over_filters(
                lambda fs: self.over_rows(
                    lambda r0, nr: self.over_cols(lambda c0, vecs: self.block(fs, r0, nr, c0, vecs))
                )
            )
        body = self.w.body()
        return (
            "module {\n"
            f"  {self.plan.signature()} attributes {{llvm.emit_c_interface}} {{\n"
            f"{body}\n"
            "    return\n"
            "  }\n"
            "}\n"
        )

    # ----- one register block: filters x rows x vectors -----------------------------
    def block(
        self, filters: list[str], row0: str, rows: int, col0: str, vectors, cb: str | None = None
    ) -> None:
        if self.plan.by_channel:
            (f,) = filters
            self.by_channel_block(f, row0, rows, col0, vectors, cb)
            return
        plan, w = self.plan, self.w
        types = [vec_type(wd) for _ in range(rows) for _, wd, _ in vectors]
        last = self.is_last_block(cb)
        outs, accs, ranges = [], [], []
        for f in filters:
            o, a, r = self.filter_start(f, row0, rows, col0, vectors, cb)
            outs.append(o)
            accs.append(a)
            ranges.append(r)

        # Inputs are read through a flat view: each load is (kernel base + constant), and the
        # constant folds into the load's addressing mode. Indexing the 3-D memref with a loop
        # variable column instead made LLVM recompute every address (2x the instructions of
        # the NEON loop at width 224).
        _, _hp, wq = plan.input_shape
        block_base = w.op(f"arith.addi {self.mul(row0, self.g.stride[0] * wq)}, {col0} : index")
        pf_cols = self._prefetch_cols(vectors) if plan.schedule.prefetch else []
        ctx = (rows, vectors, block_base, pf_cols)

        for p in range(plan.num_patterns):
            if len(filters) == 1:
                lo, hi = ranges[0][p]
                accs[0] = self.pattern_loop(p, lo, hi, accs[0], types, ctx)
            else:
                accs = self.joint_pattern_loop(p, [r[p] for r in ranges], accs, types, ctx)

        for o, a in zip(outs, accs):
            self.epilogue(o, row0, rows, col0, vectors, a, last)

    def is_last_block(self, cb: str | None) -> str | None:
        """i1: channel block cb is the last (activation then applies); None unblocked."""
        if cb is None:
            return None
        return self.w.op(f"arith.cmpi eq, {cb}, {self.idx(self.plan.channel_blocks - 1)} : index")

    def filter_start(self, f, row0, rows, col0, vectors, cb):
        """One filter of a block: its output channel, initial accumulators and kernel runs."""
        o, accs = self.initial_accumulators(f, row0, rows, col0, vectors, cb)
        return o, accs, self.pattern_runs(f, cb)

    def initial_accumulators(self, f, row0, rows, col0, vectors, cb):
        """(output channel of reordered filter f, its accumulators): the bias, or with channel
        blocks after the first the partial sums the output holds."""
        w = self.w
        o = self.load_index("filter_order", self.t_order, f)
        b = w.op(f"memref.load %bias[{o}] : {self.t_bias}")
        splat = {
            wd: w.op(f"vector.broadcast {b} : f32 to {vec_type(wd)}")
            for wd in {v[1] for v in vectors}
        }
        accs = [splat[wd] for _ in range(rows) for _, wd, _ in vectors]
        if cb is None:
            return o, accs
        # Partial sums of earlier channel blocks come back from the output (the select
        # keeps whatever the output held before the first block out of the sums).
        types = [vec_type(wd) for _ in range(rows) for _, wd, _ in vectors]
        first = w.op(f"arith.cmpi eq, {cb}, {self.idx(0)} : index")
        partial = self.load_tile(o, row0, rows, col0, vectors)
        return o, [
            w.op(f"arith.select {first}, {a}, {x} : {t}") for a, x, t in zip(accs, partial, types)
        ]

    def pattern_runs(self, f, cb) -> list[tuple[str, str]]:
        """[lo, hi) of filter f's kernels of each pattern (in channel block cb, if blocked)."""
        plan, w = self.plan, self.w
        base = self.mul(f, plan.num_patterns)
        if cb is None:
            bounds = [
                self.load_index("offsets", self.t_offsets, self.add(base, p))
                for p in range(plan.num_patterns + 1)
            ]
            return list(itertools.pairwise(bounds))
        cb1 = self.add(cb, 1)
        ranges = []
        for p in range(plan.num_patterns):
            run = self.add(base, p)
            lo = w.op(f"memref.load %channel_splits[{run}, {cb}] : {self.t_splits}")
            hi = w.op(f"memref.load %channel_splits[{run}, {cb1}] : {self.t_splits}")
            ranges.append(tuple(w.op(f"arith.index_cast {v} : i32 to index") for v in (lo, hi)))
        return ranges

    def joint_pattern_loop(self, p, ranges, accs, types, ctx) -> list[list[str]]:
        """Pattern p's runs of a filter block: the first min(run lengths) kernels of every
        filter in lockstep (independent FMA chains for every filter's accumulators, one loop
        overhead), then each filter's remaining kernels alone. FKR orders filters by kernel
        count and pattern mix, so neighbours' runs are nearly equal."""
        w = self.w
        lengths = [w.op(f"arith.subi {hi}, {lo} : index") for lo, hi in ranges]
        common = lengths[0]
        for n in lengths[1:]:
            common = w.op(f"arith.minui {common}, {n} : index")
        size = len(types)

        def lockstep(j, flat):
            out = []
            for i, (lo, _) in enumerate(ranges):
                k = w.op(f"arith.addi {lo}, {j} : index")
                out += self.kernel(p, k, flat[i * size : (i + 1) * size], ctx)
            return out

        flat = self.loop_acc(
            self.idx(0),
            common,
            self.idx(1),
            [a for f in accs for a in f],
            types * len(accs),
            lockstep,
        )
        result = []
        for i, (lo, hi) in enumerate(ranges):
            rest = w.op(f"arith.addi {lo}, {common} : index")
            result.append(
                self.pattern_loop(p, rest, hi, flat[i * size : (i + 1) * size], types, ctx)
            )
        return result

    def _mask(self, lanes: int, width: int) -> str:
        return self.w.raw_const(
            f"vector.constant_mask [{lanes}] : {vec_type(width, 'i1')}", f"mask{lanes}x{width}"
        )

    def load_tile(self, o, row0, rows, col0, vectors) -> list[str]:
        """The output tile's current values (the partial sums of earlier channel blocks)."""
        w, out = self.w, []
        for r in range(rows):
            orow = self.add(row0, r)
            for off, wd, lanes in vectors:
                vt, ocol = vec_type(wd), self.add(col0, off)
                if lanes == wd:
                    out.append(
                        w.op(f"vector.load %output[{o}, {orow}, {ocol}] : {self.t_out}, {vt}")
                    )
                else:
                    zero = w.const(f"dense<{f32_literal(0.0)}>", vt)
                    out.append(
                        w.op(
                            f"vector.maskedload %output[{o}, {orow}, {ocol}], "
                            f"{self._mask(lanes, wd)}, {zero} : {self.t_out}, "
                            f"{vec_type(wd, 'i1')}, {vt} into {vt}"
                        )
                    )
        return out

    def _prefetch_cols(self, vectors) -> list[int]:
        span = max(off + wd for off, wd, _ in vectors) + max(
            self.g.tap_phase_and_shift(kx)[1] for kx in range(3)
        )
        if not _PREFETCH_ALL_LINES:
            return [0]
        return list(range(0, span, _CACHE_LINE_FLOATS))

    def pattern_loop(self, p, lb, ub, accs, types, ctx) -> list[str]:
        unroll = self.plan.schedule.unroll
        if unroll == 1:
            return self.loop_acc(
                lb, ub, self.idx(1), accs, types, lambda k, a: self.kernel(p, k, a, ctx)
            )
        w = self.w
        n = w.op(f"arith.subi {ub}, {lb} : index")
        tail = w.op(f"arith.remui {n}, {self.idx(unroll)} : index")
        mid = w.op(f"arith.subi {ub}, {tail} : index")

        def unrolled(k, a):
            for u in range(unroll):
                a = self.kernel(p, self.add(k, u), a, ctx)
            return a

        accs = self.loop_acc(lb, mid, self.idx(unroll), accs, types, unrolled)
        return self.loop_acc(
            mid, ub, self.idx(1), accs, types, lambda k, a: self.kernel(p, k, a, ctx)
        )

    def kernel(self, p: int, k: str, accs: list[str], ctx) -> list[str]:
        """One kept kernel of pattern p: T taps x rows x vectors FMAs, loads shared."""
        rows, vectors, block_base, pf_cols = ctx
        g, w = self.g, self.w
        sh, dh, phases = g.stride[0], g.dilation[0], g.phases
        _, hp, wq = self.plan.input_shape
        c = self.load_index("channels", self.t_chan, k)
        base = w.op(f"arith.addi {self.mul(c, phases * hp * wq)}, {block_base} : index")

        if self.plan.schedule.prefetch:
            self.prefetch(k, block_base, pf_cols, rows)

        widths = sorted({wd for _, wd, _ in vectors}, reverse=True)
        wb = []
        ntaps = len(self.taps[p])
        target = cpu_target(self.plan.target)
        if not target.fma_memory_operand and ntaps == widths[0] == 4:
            # AArch64: one `ldr q` for the kernel's 4 weights; lane splats of every width
            # (the row's remainder vector is narrower) become by-element fmla.
            vt = vec_type(4)
            wv = w.op(f"vector.load %weights[{k}, {self.idx(0)}] : {self.t_w}, {vt}")
            for t in range(4):
                wb.append(
                    {
                        wd: w.op(
                            f"vector.shuffle {wv}, {wv} [{', '.join([str(t)] * wd)}] : {vt}, {vt}"
                        )
                        for wd in widths
                    }
                )
        for t in range(ntaps if not wb else 0):
            wb.append(self.weight_splats(k, t, widths))

        # Group the FMAs by the input vector they read, so each vector is loaded once and its
        # live range is short.
        uses: dict[tuple[int, int, int, int], list[tuple[int, int]]] = {}
        for t, (ky, kx) in enumerate(self.taps[p]):
            q, shift = g.tap_phase_and_shift(kx)
            for r in range(rows):
                for v, (off, wd, _) in enumerate(vectors):
                    key = (r * sh + ky * dh, q, off + shift, wd)
                    uses.setdefault(key, []).append((t, r * len(vectors) + v))
        out = list(accs)
        for (dr, q, dc, wd), fmas in sorted(uses.items()):
            at = self.add(self.input_row(base, q * hp + dr), dc)
            x = w.op(f"vector.load {self.flat}[{at}] : {self.t_flat}, {vec_type(wd)}")
            for t, a in fmas:
                out[a] = w.op(f"vector.fma {wb[t][wd]}, {x}, {out[a]} : {vec_type(wd)}")
        return out

    def weight_splats(self, k: str, t: int, widths: list[int]) -> dict[int, str]:
        """Tap t's weight of kernel k splat to each vector width (widest first)."""
        w = self.w
        s = w.op(f"memref.load %weights[{k}, {self.idx(t)}] : {self.t_w}")
        # Narrower splats are the low part of the widest one: a free sub-register on the
        # host, where a second broadcast would take a shuffle-port uop beside the FMAs.
        full = w.op(f"vector.broadcast {s} : f32 to {vec_type(widths[0])}")
        out = {widths[0]: full}
        for wd in widths[1:]:
            out[wd] = w.op(
                f"vector.extract_strided_slice {full} {{offsets = [0], sizes = [{wd}], "
                f"strides = [1]}} : {vec_type(widths[0])} to {vec_type(wd)}"
            )
        return out

    def by_channel_block(self, f, row0, rows, col0, vectors, cb: str | None) -> None:
        """One filter's register block with kernel_order by_channel: a single loop over the
        filter's kernels of the channel block, each tap read at its offset from the table
        (no loads shared between taps: their offsets are not known here)."""
        plan, w, g = self.plan, self.w, self.g
        types = [vec_type(wd) for _ in range(rows) for _, wd, _ in vectors]
        o, accs = self.initial_accumulators(f, row0, rows, col0, vectors, cb)
        b = cb if cb is not None else self.idx(0)
        lo, hi = (
            w.op(f"memref.load %kernel_starts[{b}, {i}] : {self.t_starts}")
            for i in (f, self.add(f, 1))
        )
        lo, hi = (w.op(f"arith.index_cast {v} : i32 to index") for v in (lo, hi))
        _, _hp, wq = plan.input_shape
        block_base = w.op(f"arith.addi {self.mul(row0, g.stride[0] * wq)}, {col0} : index")
        widths = sorted({wd for _, wd, _ in vectors}, reverse=True)

        def kernel(k, a):
            out = list(a)
            for t in range(plan.taps_per_kernel):
                off = w.op(f"memref.load %tap_offsets[{k}, {self.idx(t)}] : {self.t_taps}")
                base = w.op(
                    f"arith.addi {w.op(f'arith.index_cast {off} : i32 to index')}, "
                    f"{block_base} : index"
                )
                splat = self.weight_splats(k, t, widths)
                for r in range(rows):
                    for v, (voff, wd, _) in enumerate(vectors):
                        at = self.add(base, r * g.stride[0] * wq + voff)
                        x = w.op(f"vector.load {self.flat}[{at}] : {self.t_flat}, {vec_type(wd)}")
                        i = r * len(vectors) + v
                        out[i] = w.op(f"vector.fma {splat[wd]}, {x}, {out[i]} : {vec_type(wd)}")
            return out

        accs = self.loop_acc(lo, hi, self.idx(1), accs, types, kernel)
        self.epilogue(o, row0, rows, col0, vectors, accs, self.is_last_block(cb))

    def prefetch(self, k, block_base, pf_cols, rows) -> None:
        """Touch the input rows of the kernel ``prefetch`` kernels ahead (phase plane 0)."""
        w, g = self.w, self.g
        _, hp, wq = self.plan.input_shape
        ahead = self.add(k, self.plan.schedule.prefetch)
        kn = w.op(f"arith.minsi {ahead}, {self.k_last} : index")
        cn = self.load_index("channels", self.t_chan, kn)
        base = w.op(f"arith.addi {self.mul(cn, g.phases * hp * wq)}, {block_base} : index")
        drs = sorted({r * g.stride[0] + ky * g.dilation[0] for r in range(rows) for ky in range(3)})
        for dr in drs:
            for dc in pf_cols:
                at = self.add(base, dr * wq + dc)
                w.line(
                    f"memref.prefetch {self.flat}[{at}], read, locality<3>, data : {self.t_flat}"
                )

    def epilogue(self, o, row0, rows, col0, vectors, accs, last: str | None = None) -> None:
        """Activation (only after the last channel block, if blocked), then store."""
        w, act = self.w, self.plan.activation
        for r in range(rows):
            orow = self.add(row0, r)
            for v, (off, wd, lanes) in enumerate(vectors):
                acc, vt = accs[r * len(vectors) + v], vec_type(wd)
                y = acc
                if act.lo is not None:
                    lo = w.const(f"dense<{f32_literal(act.lo)}>", vt)
                    y = w.op(f"arith.maximumf {y}, {lo} : {vt}")
                if act.hi is not None:
                    hi = w.const(f"dense<{f32_literal(act.hi)}>", vt)
                    y = w.op(f"arith.minimumf {y}, {hi} : {vt}")
                if last is not None and y != acc:
                    y = w.op(f"arith.select {last}, {y}, {acc} : {vt}")
                ocol = self.add(col0, off)
                if lanes == wd:
                    w.line(f"vector.store {y}, %output[{o}, {orow}, {ocol}] : {self.t_out}, {vt}")
                else:
                    w.line(
                        f"vector.maskedstore %output[{o}, {orow}, {ocol}], "
                        f"{self._mask(lanes, wd)}, {y} : {self.t_out}, {vec_type(wd, 'i1')}, {vt}"
                    )


def emit_conv(plan: ConvKernelPlan) -> str:
    """MLIR module text holding the plan's function (func/scf/memref/vector/arith only)."""
    return _ConvEmitter(plan).emit()
