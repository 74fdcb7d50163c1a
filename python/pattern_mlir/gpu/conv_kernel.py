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
global memory with a bounds check per position (``direct``). With several
channel blocks the partial sums live in the output between blocks; the last
block adds the bias and applies the activation. Every invocation reaches every
barrier (the bounds guard is inside), and nothing depends on the subgroup size.
"""

from __future__ import annotations

import numpy as np

from pattern_mlir.gpu.conv_plan import VECTOR_WIDTH, ConvGeometry, GpuConvPlan
from pattern_mlir.gpu.ssa import SsaWriter

VW = VECTOR_WIDTH


def pattern_taps(masks: np.ndarray) -> list[list[tuple[int, int]]]:
    """Row-major (ky, kx) taps of each (P, KH, KW) mask, the order FKW stores weights in."""
    return [[(int(y), int(x)) for y, x in np.argwhere(m)] for m in np.asarray(masks, bool)]


def output_is_vec4(geom: ConvGeometry) -> bool:
    return geom.out_width % VW == 0


def weights_are_vec4(taps_per_kernel: int) -> bool:
    return taps_per_kernel == VW


def argument_types(
    geom: ConvGeometry, plan: GpuConvPlan, num_patterns: int, taps: int, num_kernels: int
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
    return [
        ("input", f"memref<{geom.input_size}xf32>"),
        ("weights", wt),
        ("channels", f"memref<{rows}xi32>"),
        ("runs", f"memref<{o * num_patterns * (plan.channel_blocks + 1)}xi32>"),
        ("groups", f"memref<{plan.groups + 1}xi32>"),
        ("filter_order", f"memref<{o}xi32>"),
        ("bias", f"memref<{o}xf32>"),
        ("output", out),
    ]


class _ConvEmitter:
    def __init__(self, geom, plan, masks, num_kernels, activation, clamp):
        self.g = geom
        self.p = plan
        self.taps = pattern_taps(masks)
        self.num_patterns = len(self.taps)
        self.t = len(self.taps[0])
        self.num_kernels = num_kernels
        self.activation = activation
        self.clamp = clamp
        self.w = SsaWriter()
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
        self.thread_base = w.add(w.mul(self.ty, sh * cols), w.mul(self.tx, VW * sw))
        smem_t = f"memref<{p.channel_block * plane}xf32, #spirv.storage_class<Workgroup>>"
        self.smem_type = smem_t
        # A workgroup-space alloc becomes a Workgroup-storage global in SPIR-V (gpu.func
        # workgroup attributions do not lower through convert-gpu-to-spirv).
        w.line(f"%smem = memref.alloc() : {smem_t}")
        zero = w.f32(0.0)

        def block_body(block):
            c_first = w.mul(block, p.channel_block)
            with w.for_loop(tid, p.channel_block * plane, nt) as (e, _):
                cl = w.divu(e, plane)
                rem = w.remu(e, plane)
                r, col = w.divu(rem, cols), w.remu(rem, cols)
                c = w.add(c_first, cl)
                iy, ix = w.add(row0, r), w.add(col0, col)
                inb = w.cmp("ult", c, g.in_channels) if p.channel_blocks > 1 else None
                inb = w.and_(inb, w.cmp("sge", iy, 0))
                inb = w.and_(inb, w.cmp("slt", iy, g.height))
                inb = w.and_(inb, w.cmp("sge", ix, 0))
                inb = w.and_(inb, w.cmp("slt", ix, g.width))
                addr = w.add(w.mul(w.add(w.mul(w.add(n_base, c), g.height), iy), g.width), ix)
                safe = w.select(inb, addr, 0)
                val = self.load_f32("input", safe)
                val = w.select(inb, val, zero, "f32")
                w.line(f"memref.store {val}, %smem[{e}] : {smem_t}")
            w.line("gpu.barrier")
            with w.if_(active):
                self.emit_filters(block)
            w.line("gpu.barrier")

        if p.channel_blocks == 1:
            block_body(0)
        else:
            with w.for_loop(0, p.channel_blocks) as (block, _):
                block_body(block)

    # -- direct variant ---------------------------------------------------------------
    def prepare_direct(self) -> None:
        """Per-invocation input offsets and padding predicates, hoisted out of every loop."""
        g, w = self.g, self.w
        (sh, sw), (_dh, _dw), (pt, pl) = g.strides, g.dilations, g.padding[:2]
        iy0 = w.sub(w.mul(self.oy, sh), pt)
        ix0 = w.sub(w.mul(self.ox0, sw), pl)
        self.direct = {}
        for dy, dx in self.offsets():
            iy, ix = w.add(iy0, dy), w.add(ix0, dx)
            pred = w.and_(w.cmp("sge", iy, 0), w.cmp("slt", iy, g.height))
            pred = w.and_(pred, w.and_(w.cmp("sge", ix, 0), w.cmp("slt", ix, g.width)))
            off = w.select(pred, w.add(w.mul(iy, g.width), ix), 0)
            self.direct[(dy, dx)] = (pred, off)
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
        with w.for_loop(w.add(self.fb, self.tz), self.fe, p.filter_lanes) as (f, _):
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
            return [w.op(f"vector.extract {vec}[{j}] : f32 from vector<4xf32>") for j in range(VW)]
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
            with w.for_loop(k0, main_end, unroll, [(a, "f32") for a in accs]) as (k, acc):
                new = list(acc)
                for u in range(unroll):
                    new = self.kernel_body(w.add(k, u), pat, block, new)
                w.yield_(new, ["f32"] * VW)
            accs, k0 = list(w.last_results), main_end
        with w.for_loop(k0, k1, 1, [(a, "f32") for a in accs]) as (k, acc):
            w.yield_(self.kernel_body(k, pat, block, acc), ["f32"] * VW)
        return list(w.last_results)

    def kernel_body(self, k, pat: int, block, acc: list[str]) -> list[str]:
        """Accumulate kernel ``k`` (stream row) of pattern ``pat`` into the 4 outputs."""
        g, p, w = self.g, self.p, self.w
        (_, sw), (dh, dw) = g.strides, g.dilations
        chan = self.load_index("channels", k)
        weights = self.load_weights(k)
        cache: dict[tuple[int, int], str] = {}
        if p.staged:
            cl = w.sub(chan, w.mul(block, p.channel_block))
            base = w.add(w.mul(cl, p.tile_in[0] * p.tile_in[1]), self.thread_base)
        else:
            base = w.mul(w.add(self.n_base, chan), g.height * g.width)

        def value(dy: int, dx: int) -> str:
            if (dy, dx) not in cache:
                if p.staged:
                    idx = w.v(w.add(base, dy * p.tile_in[1] + dx))
                    cache[(dy, dx)] = w.op(f"memref.load %smem[{idx}] : {self.smem_type}")
                else:
                    pred, off = self.direct[(dy, dx)]
                    raw = self.load_f32("input", w.add(base, off))
                    cache[(dy, dx)] = w.select(pred, raw, w.f32(0.0), "f32")
            return cache[(dy, dx)]

        new = list(acc)
        for t, (ky, kx) in enumerate(self.taps[pat]):
            for j in range(VW):
                new[j] = self.fma(weights[t], value(ky * dh, j * sw + kx * dw), new[j])
        return new

    def load_weights(self, k) -> list[str]:
        w = self.w
        if weights_are_vec4(self.t):
            vec = self.load_f32("weights", k)
            return [w.op(f"vector.extract {vec}[{t}] : f32 from vector<4xf32>") for t in range(VW)]
        base = w.mul(k, self.t)
        return [self.load_f32("weights", w.add(base, t)) for t in range(self.t)]


def emit_conv_kernel(
    name: str,
    geom: ConvGeometry,
    plan: GpuConvPlan,
    masks: np.ndarray,
    num_kernels: int,
    activation: str = "none",
    clamp: tuple[float, float] | None = None,
) -> str:
    """The text of ``gpu.func @name`` (to be placed inside a gpu.module)."""
    return _ConvEmitter(geom, plan, masks, num_kernels, activation, clamp).emit(name)
