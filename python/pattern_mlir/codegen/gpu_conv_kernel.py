"""Emits the gpu.func of one pattern conv: one specialised loop per pattern.

Why this shape (see conv_plan for the tiling): per workgroup, a group of
FKR-reordered filters with equal kept-kernel work and an output tile; per
invocation, 4 adjacent output columns of one row for every filter of the group.
For each filter the kernel runs P loops, one per library pattern, over that
pattern's run of the FKW stream; inside, the pattern's tap offsets are
compile-time constants, the 4 tap weights arrive as one uniform vec4 load, and
each distinct input position the 4 outputs need is loaded once and reused by
every tap that reads it (load-redundancy elimination; stride 1 turns 16 loads
into at most 12 for a 4-tap pattern, 6 per 3-tap row).

Inputs come from shared memory (``staged``: the workgroup copies one channel
block of its input tile, zero-filling the padding, then synchronises) or from
global memory with a bounds check per position (``direct``). Both read whole
vec4s: an invocation's 4 output columns start on a multiple of 4 and the taps
only add constant column offsets, so every input position it needs is a constant
lane of one of a few aligned vec4s (stride 1: 2 staged or 3 direct vec4 loads per
input row instead of 6 scalar ones). Staged rows are padded to whole vec4s; direct
reads need input rows of a multiple of 4 floats (else they stay scalar). With several
channel blocks the partial sums live in the output between blocks; the last
block adds the bias and applies the activation. Every invocation reaches every
barrier (the bounds guard is inside), and nothing depends on the subgroup size.
"""

from __future__ import annotations

import numpy as np

from pattern_mlir.codegen.gpu_conv_plan import VECTOR_WIDTH, GpuConvGeometry, GpuConvPlan
from pattern_mlir.codegen.irtext import FuncWriter

VW = VECTOR_WIDTH


def pattern_taps(masks: np.ndarray) -> list[list[tuple[int, int]]]:
    """Row-major (ky, kx) taps of each (P, KH, KW) mask, the order FKW stores weights in."""
    return [[(int(y), int(x)) for y, x in np.argwhere(m)] for m in np.asarray(masks, bool)]


def output_is_vec4(geom: GpuConvGeometry) -> bool:
    return geom.out_width % VW == 0


def weights_are_vec4(taps_per_kernel: int) -> bool:
    return taps_per_kernel == VW


def input_is_vec4(geom: GpuConvGeometry, plan: GpuConvPlan) -> bool:
    """Direct reads come as aligned vec4s when every input row starts on a vec4 (staged
    kernels copy their tile with scalar reads: the padding offsets it)."""
    return not plan.staged and geom.width % VW == 0


def argument_types(
    geom: GpuConvGeometry, plan: GpuConvPlan, num_patterns: int, taps: int, num_kernels: int
) -> list[tuple[str, str]]:
    """(name, memref type) of each kernel argument, in binding order."""
    rows = max(1, num_kernels)
    wt = f"memref<{rows}xvector<4xf32>>" if weights_are_vec4(taps) else f"memref<{rows * taps}xf32>"
    out = (
        f"memref<{geom.output_size // VW}xvector<4xf32>>"
        if output_is_vec4(geom)
        else f"memref<{geom.output_size}xf32>"
    )
    o = geom.out_channels
    inp = (
        f"memref<{geom.input_size // VW}xvector<4xf32>>"
        if input_is_vec4(geom, plan)
        else f"memref<{geom.input_size}xf32>"
    )
    return [
        ("input", inp),
        ("weights", wt),
        ("channels", f"memref<{rows}xi32>"),
        ("runs", f"memref<{o * num_patterns * (plan.channel_blocks + 1)}xi32>"),
        ("groups", f"memref<{plan.groups + 1}xi32>"),
        ("filter_order", f"memref<{o}xi32>"),
        ("bias", f"memref<{o}xf32>"),
        ("output", out),
    ]


class _GpuConvEmitter:
    def __init__(self, geom, plan, masks, num_kernels, activation, clamp):
        self.g = geom
        self.p = plan
        self.taps = pattern_taps(masks)
        self.num_patterns = len(self.taps)
        self.t = len(self.taps[0])
        self.num_kernels = num_kernels
        self.activation = activation
        self.clamp = clamp
        self.w = FuncWriter(indent=3)
        self.types = dict(argument_types(geom, plan, self.num_patterns, self.t, num_kernels))

    # -- small helpers ------------------------------------------------------------
    def load_index(self, memref: str, index) -> str:
        w = self.w
        raw = w.op(f"memref.load %{memref}[{w.v(index)}] : {self.types[memref]}")
        return w.op(f"arith.index_cast {raw} : i32 to index")

    def load_f32(self, memref: str, index, type_: str | None = None) -> str:
        type_ = type_ or self.types[memref]
        return self.w.op(f"memref.load %{memref}[{self.w.v(index)}] : {type_}")

    def fadd(self, a, b):
        return self.w.op(f"arith.addf {a}, {b} : f32")

    def fma(self, a, b, c):
        prod = self.w.op(f"arith.mulf {a}, {b} : f32")
        return self.w.op(f"arith.addf {c}, {prod} : f32")

    def activate(self, y: str) -> str:
        w, act = self.w, self.activation
        lo = {"relu": 0.0, "relu6": 0.0, "clamp": self.clamp[0] if self.clamp else None}.get(act)
        hi = {"relu6": 6.0, "clamp": self.clamp[1] if self.clamp else None}.get(act)
        if lo is not None:
            y = w.op(f"arith.maximumf {y}, {w.f32(lo)} : f32")
        if hi is not None:
            y = w.op(f"arith.minimumf {y}, {w.f32(hi)} : f32")
        return y

    # -- kernel -------------------------------------------------------------------
    def emit(self, name: str) -> str:
        g, p, w = self.g, self.p, self.w
        tx = w.op("gpu.thread_id x")
        ty = w.op("gpu.thread_id y")
        self.tz = w.op("gpu.thread_id z") if p.filter_lanes > 1 else 0
        bx = w.op("gpu.block_id x")
        grp = w.op("gpu.block_id y")
        n = w.op("gpu.block_id z")
        tile_x, tile_y = w.remu(bx, p.tiles[0]), w.divu(bx, p.tiles[0])
        self.tx, self.ty, self.n = tx, ty, n
        self.tile_x, self.tile_y = tile_x, tile_y
        self.oy = w.add(w.mul(tile_y, p.threads[1]), ty)
        self.ox0 = w.mul(w.add(w.mul(tile_x, p.threads[0]), tx), VW)
        self.fb = self.load_index("groups", grp)
        self.fe = self.load_index("groups", w.add(grp, 1))
        active = w.and_(w.cmp("ult", self.oy, g.out_height), w.cmp("ult", self.ox0, g.out_width))
        if p.staged:
            self.emit_staged(active)
        else:
            with w.if_(active):
                self.prepare_direct()
                self.emit_filters(block=0)
        w.line("gpu.return")
        return self.signature(name) + "\n" + w.body() + "\n    }"

    def signature(self, name: str) -> str:
        args = ", ".join(f"%{n}: {t}" for n, t in self.types.items())
        wg = ", ".join(str(s) for s in self.p.workgroup_size)
        return (
            f"    gpu.func @{name}({args}) kernel attributes "
            f"{{spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [{wg}]>}} {{"
        )

    # -- staged variant -------------------------------------------------------------
    def emit_staged(self, active: str) -> None:
        g, p, w = self.g, self.p, self.w
        rows, cols = p.tile_in
        plane = rows * cols
        (sh, sw), (pt, pl) = g.strides, g.padding[:2]
        nt = p.threads[0] * p.threads[1] * p.filter_lanes
        tid = w.add(w.mul(w.add(w.mul(self.tz, p.threads[1]), self.ty), p.threads[0]), self.tx)
        row0 = w.sub(w.mul(self.tile_y, p.threads[1] * sh), pt)
        col0 = w.sub(w.mul(self.tile_x, p.threads[0] * VW * sw), pl)
        n_base = w.mul(self.n, g.in_channels)
        # Shared memory holds vec4s: a tile row is cols / 4 of them, and an invocation's
        # first column (tx * 4 * sw floats into the row) is vec4 tx * sw.
        row4, slots = cols // VW, plane // VW
        self.row4 = row4
        self.thread_base = w.add(w.mul(self.ty, sh * row4), w.mul(self.tx, sw))
        smem_t = f"memref<{p.channel_block * slots}xvector<4xf32>, #spirv.storage_class<Workgroup>>"
        self.smem_type = smem_t
        # A workgroup-space alloc becomes a Workgroup-storage global in SPIR-V (gpu.func
        # workgroup attributions do not lower through convert-gpu-to-spirv).
        w.line(f"%smem = memref.alloc() : {smem_t}")
        zero = w.f32(0.0)

        def block_body(block):
            c_first = w.mul(block, p.channel_block)
            with w.scf_for(tid, p.channel_block * slots, nt) as (e, _):
                cl = w.divu(e, slots)
                rem = w.remu(e, slots)
                r, c4 = w.divu(rem, row4), w.remu(rem, row4)
                c = w.add(c_first, cl)
                iy, ix0 = w.add(row0, r), w.add(col0, w.mul(c4, VW))
                row_ok = w.cmp("ult", c, g.in_channels) if p.channel_blocks > 1 else None
                row_ok = w.and_(row_ok, w.cmp("sge", iy, 0))
                row_ok = w.and_(row_ok, w.cmp("slt", iy, g.height))
                addr0 = w.add(w.mul(w.add(w.mul(w.add(n_base, c), g.height), iy), g.width), ix0)
                lanes = []
                for j in range(VW):
                    ix = w.add(ix0, j)
                    inb = w.and_(row_ok, w.cmp("sge", ix, 0))
                    inb = w.and_(inb, w.cmp("slt", ix, g.width))
                    val = self.load_f32("input", w.select(inb, w.add(addr0, j), 0))
                    lanes.append(w.select(inb, val, zero, "f32"))
                vec = w.op(f"vector.from_elements {', '.join(lanes)} : vector<4xf32>")
                w.line(f"memref.store {vec}, %smem[{e}] : {smem_t}")
            w.line("gpu.barrier")
            with w.if_(active):
                self.emit_filters(block)
            w.line("gpu.barrier")

        if p.channel_blocks == 1:
            block_body(0)
        else:
            with w.scf_for(0, p.channel_blocks) as (block, _):
                block_body(block)

    # -- direct variant ---------------------------------------------------------------
    def prepare_direct(self) -> None:
        """Per-invocation input offsets and padding predicates, hoisted out of every loop:
        one per input position, or with vec4 reads one per aligned vec4 (a vec4 of a row
        of 4k floats lies wholly inside or wholly outside it)."""
        g, w = self.g, self.w
        (sh, sw), (_dh, _dw), (pt, pl) = g.strides, g.dilations, g.padding[:2]
        iy0 = w.sub(w.mul(self.oy, sh), pt)
        self.vec_input = input_is_vec4(g, self.p)
        self.direct = {}
        if self.vec_input:
            # ox0 is a multiple of 4, so column ox0 * sw - pl + dx is lane (dx - pl) % 4 of
            # vec4 ox0 / 4 * sw + (dx - pl) // 4 of its row.
            row4 = g.width // VW
            c40 = w.mul(w.divu(self.ox0, VW), sw)
            for dy, slot in sorted({(dy, (dx - pl) // VW) for dy, dx in self.offsets()}):
                iy, c4 = w.add(iy0, dy), w.add(c40, slot)
                pred = w.and_(w.cmp("sge", iy, 0), w.cmp("slt", iy, g.height))
                pred = w.and_(pred, w.and_(w.cmp("sge", c4, 0), w.cmp("slt", c4, row4)))
                # SPIR-V 1.3 selects vectors by a vector of conditions only.
                lanes = w.op(f"vector.broadcast {pred} : i1 to vector<4xi1>")
                self.direct[(dy, slot)] = (lanes, w.select(pred, w.add(w.mul(iy, row4), c4), 0))
        else:
            ix0 = w.sub(w.mul(self.ox0, sw), pl)
            for dy, dx in self.offsets():
                iy, ix = w.add(iy0, dy), w.add(ix0, dx)
                pred = w.and_(w.cmp("sge", iy, 0), w.cmp("slt", iy, g.height))
                pred = w.and_(pred, w.and_(w.cmp("sge", ix, 0), w.cmp("slt", ix, g.width)))
                self.direct[(dy, dx)] = (pred, w.select(pred, w.add(w.mul(iy, g.width), ix), 0))
        self.n_base = w.mul(self.n, g.in_channels)

    def offsets(self) -> list[tuple[int, int]]:
        """Every (row, column) input offset any pattern reads for the 4 outputs."""
        (_, sw), (dh, dw) = self.g.strides, self.g.dilations
        found = {
            (ky * dh, j * sw + kx * dw) for taps in self.taps for ky, kx in taps for j in range(VW)
        }
        return sorted(found)

    # -- the filter loop shared by both variants ---------------------------------------
    def emit_filters(self, block) -> None:
        g, p, w = self.g, self.p, self.w
        blocks = p.channel_blocks
        zero = w.f32(0.0)
        vec_out = output_is_vec4(g)
        with w.scf_for(w.add(self.fb, self.tz), self.fe, p.filter_lanes) as (f, _):
            o = self.load_index("filter_order", f)
            plane = g.out_height * g.out_width
            out_base = w.add(
                w.add(
                    w.mul(w.add(w.mul(self.n, g.out_channels), o), plane),
                    w.mul(self.oy, g.out_width),
                ),
                self.ox0,
            )
            lane_ok = [None] * VW
            if not vec_out:
                lane_ok[1:] = [w.cmp("ult", w.add(self.ox0, j), g.out_width) for j in range(1, VW)]
            if blocks == 1:
                accs = [zero] * VW
            else:
                first = w.cmp("eq", block, 0)
                partial = self.load_outputs(out_base, lane_ok, vec_out)
                accs = [w.select(first, zero, v, "f32") for v in partial]
            for pat in range(self.num_patterns):
                accs = self.emit_pattern_loop(f, pat, block, accs)
            bias = self.load_f32("bias", o)
            final = [self.activate(self.fadd(a, bias)) for a in accs]
            if blocks > 1:
                last = w.cmp("eq", block, blocks - 1)
                final = [w.select(last, y, a, "f32") for y, a in zip(final, accs)]
            self.store_outputs(out_base, final, lane_ok, vec_out)

    def load_outputs(self, out_base, lane_ok, vec_out) -> list[str]:
        w = self.w
        if vec_out:
            vec = self.load_f32("output", w.divu(out_base, VW))
            return [self.lane(vec, j) for j in range(VW)]
        values = []
        for j, ok in enumerate(lane_ok):
            idx = w.add(out_base, j)
            if ok is not None:
                idx = w.select(ok, idx, out_base)
            values.append(self.load_f32("output", idx))
        return values

    def store_outputs(self, out_base, values, lane_ok, vec_out) -> None:
        w = self.w
        if vec_out:
            vec = w.op(f"vector.from_elements {', '.join(values)} : vector<4xf32>")
            idx = w.v(w.divu(out_base, VW))
            w.line(f"memref.store {vec}, %output[{idx}] : {self.types['output']}")
            return
        for j, (ok, val) in enumerate(zip(lane_ok, values)):
            with w.if_(ok):
                idx = w.v(w.add(out_base, j))
                w.line(f"memref.store {val}, %output[{idx}] : {self.types['output']}")

    def emit_pattern_loop(self, f, pat: int, block, accs: list[str]) -> list[str]:
        """The specialised loop over pattern ``pat``'s kernels of filter ``f``."""
        p, w = self.p, self.w
        stride = p.channel_blocks + 1
        r = w.add(w.mul(w.add(w.mul(f, self.num_patterns), pat), stride), block)
        k0 = self.load_index("runs", r)
        k1 = self.load_index("runs", w.add(r, 1))
        unroll = p.unroll
        if unroll > 1:
            count = w.sub(k1, k0)
            main_end = w.add(k0, w.mul(w.divu(count, unroll), unroll))
            with w.scf_for(k0, main_end, unroll, [(a, "f32") for a in accs]) as (k, acc):
                new = list(acc)
                for u in range(unroll):
                    new = self.kernel_body(w.add(k, u), pat, block, new)
                w.yield_(new, ["f32"] * VW)
            accs, k0 = list(w.last_results), main_end
        with w.scf_for(k0, k1, 1, [(a, "f32") for a in accs]) as (k, acc):
            w.yield_(self.kernel_body(k, pat, block, acc), ["f32"] * VW)
        return list(w.last_results)

    def kernel_body(self, k, pat: int, block, acc: list[str]) -> list[str]:
        """Accumulate kernel ``k`` (stream row) of pattern ``pat`` into the 4 outputs."""
        g, p, w = self.g, self.p, self.w
        (_, sw), (dh, dw) = g.strides, g.dilations
        chan = self.load_index("channels", k)
        weights = self.load_weights(k)
        if p.staged:
            cl = w.sub(chan, w.mul(block, p.channel_block))
            base = w.add(w.mul(cl, p.tile_in[0] * self.row4), self.thread_base)
        else:
            plane = g.height * g.width
            base = w.mul(w.add(self.n_base, chan), plane // VW if self.vec_input else plane)
        loaded: dict[tuple[int, int], str] = {}  # vec4s (scalars without vec4 reads)
        values: dict[tuple[int, int], str] = {}

        def value(dy: int, dx: int) -> str:
            if (dy, dx) not in values:
                values[(dy, dx)] = self.read_input(base, dy, dx, loaded)
            return values[(dy, dx)]

        new = list(acc)
        for t, (ky, kx) in enumerate(self.taps[pat]):
            for j in range(VW):
                new[j] = self.fma(weights[t], value(ky * dh, j * sw + kx * dw), new[j])
        return new

    def read_input(self, base, dy: int, dx: int, loaded: dict) -> str:
        """The input at offset (dy, dx) from the invocation's first position: a lane of a
        vec4 loaded once per kernel (``loaded``), or a scalar load without vec4 reads."""
        p, w = self.p, self.w
        if p.staged:
            slot = dy * self.row4 + dx // VW
            if slot not in loaded:
                idx = w.v(w.add(base, slot))
                loaded[slot] = w.op(f"memref.load %smem[{idx}] : {self.smem_type}")
            return self.lane(loaded[slot], dx % VW)
        if not self.vec_input:
            pred, off = self.direct[(dy, dx)]
            raw = self.load_f32("input", w.add(base, off))
            return w.select(pred, raw, w.f32(0.0), "f32")
        pl = self.g.padding[1]
        key = (dy, (dx - pl) // VW)
        if key not in loaded:
            inside, off = self.direct[key]
            raw = self.load_f32("input", w.add(base, off))
            zero = w.const("dense<0.0>", "vector<4xf32>")
            loaded[key] = w.op(
                f"arith.select {inside}, {raw}, {zero} : vector<4xi1>, vector<4xf32>"
            )
        return self.lane(loaded[key], (dx - pl) % VW)

    def lane(self, vec: str, j: int) -> str:
        return self.w.op(f"vector.extract {vec}[{j}] : f32 from vector<4xf32>")

    def load_weights(self, k) -> list[str]:
        w = self.w
        if weights_are_vec4(self.t):
            vec = self.load_f32("weights", k)
            return [self.lane(vec, t) for t in range(VW)]
        base = w.mul(k, self.t)
        return [self.load_f32("weights", w.add(base, t)) for t in range(self.t)]


def emit_conv_kernel(
    name: str,
    geom: GpuConvGeometry,
    plan: GpuConvPlan,
    masks: np.ndarray,
    num_kernels: int,
    activation: str = "none",
    clamp: tuple[float, float] | None = None,
) -> str:
    """The text of ``gpu.func @name`` (to be placed inside a gpu.module)."""
    return _GpuConvEmitter(geom, plan, masks, num_kernels, activation, clamp).emit(name)
