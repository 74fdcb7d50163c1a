"""Per-channel stencils (depthwise convolution, max / sum pooling) as MLIR vector code.

    out[c, oh, ow] = init(c) (+) sum / max over window taps (kh, kw) of
                     w[c, kh, kw] * in_padded[c, oh * sh + kh, ow * sw + kw]

Channels are the outer loop (split into `groups` ranges under `scf.parallel` for threads).
Each channel is first *staged*: its plane is copied, split into `sh * sw` phase planes
(plane (py, px) holds padded rows py, py+sh, ... and columns px, px+sw, ...), into a small
scratch buffer that stays in cache (one per group), whose padding is written once per call. Every tap is then a contiguous
vector load at a constant offset from the output position, at any stride; the input is read
from memory once. A stride-1 input whose windows all lie inside it is read in place.

Only the top and left padding is passed in: the bottom and right padding (a tensor.pad's high
side, which is also how torch-mlir writes ceil_mode) shows only as windows that reach past
the input's last row or column. Staging fills those places with the pad value; the in-place
paths must not read them (`fits`, and the paired path's clipped last row and column).

Staging copies rows with vector loads and stores (stride 1) or two loads and a
`vector.shuffle` that keeps the even or odd lanes (stride 2); other strides and row tails
copy element by element. Pooling windows that tile the image 2, 4, 8 or 16 columns wide
(kernel = strides, no top or left padding: `paired`; VGG's 2x2 max pools, adaptive average
pools to an integer fraction of the image) skip staging: each output vector combines the
`sw` loads of each window row down the rows, then neighbouring lanes pairwise (even lanes
with odd lanes of two vectors) until each lane holds its window: log2(sw) levels of shuffles
instead of sw*sw phase planes, whose unrolled copies made LLVM's schedulers take seconds on
8x8 windows. A ceil_mode last row or column of windows reads only the input's rows and
columns and takes the pad value for the rest. Output rows
are vectorised along their width: full vectors and one masked vector per row, stored
straight into the NCHW output, with the fused epilogue (passes/dense/epilogue.py) applied on the way.

Small maps: rows of at most half a vector run as vectors over the plane's row pitch
(`wide`), each row then shuffled out of the one or two vectors it lies in; the extra columns
such a vector computes read addresses below the last row's, so they stay inside the plane.
Small planes are staged a batch of channels at a time (`batch`) before any is computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .dense_gemm import f32_literal
from .irtext import FuncWriter

__all__ = ["phase_plane_hw", "StencilSpec", "emit_stencil"]

COMBINES = ("fma", "max", "add")
# The most vectors a `wide` channel's plane unrolls into (its code is straight-line).
_WIDE_MAX_VECTORS = 16
# Staged channels are copied this many floats at a time before any of them is computed.
_STAGE_BATCH_FLOATS = 4096
_STAGE_BATCH_MAX = 16


def phase_plane_hw(src_hw, out_hw, kernel, strides, direct: bool) -> tuple[int, int]:
    """(rows, columns) of one phase plane of a stencil's input: the input itself when it is
    read in place (`direct`), else what the outputs read of one of the strides[0] x
    strides[1] phases (output extent plus the kernel's reach in that phase)."""
    if direct:
        return tuple(src_hw)
    return tuple(o + (k - 1) // s for o, k, s in zip(out_hw, kernel, strides))


@dataclass(frozen=True)
class StencilSpec:
    name: str
    channels: int
    src_hw: tuple[int, int]  # unpadded input rows, columns
    pads: tuple[int, int]  # top, left (bottom / right: windows past the input, see `fits`)
    strides: tuple[int, int]
    kernel: tuple[int, int]
    out_hw: tuple[int, int]
    vector: int
    combine: str = "fma"  # fma (weights) | max | add
    pad_value: float = 0.0
    init: str = "zero"  # zero | const | row (bias[c]) | load (out holds the init)
    init_value: float = 0.0
    epilogue: object = field(default=None, compare=False)  # epilogue.Epilogue before stores
    residual: bool = False  # %res (NCHW like %out) feeds the epilogue
    groups: int = 1

    # ----- geometry -----------------------------------------------------------------------
    @property
    def fits(self) -> bool:
        """Every window lies inside the unpadded input. `pads` holds only the top and left
        padding; the bottom and right padding (a tensor.pad's high side: explicit padding, or
        ceil_mode's extra rows and columns) shows only as windows that run past the input."""
        (h, wd), (oh, ow), (sh, sw), (kh, kw) = self.src_hw, self.out_hw, self.strides, self.kernel
        return self.pads == (0, 0) and (oh - 1) * sh + kh <= h and (ow - 1) * sw + kw <= wd

    @property
    def direct(self) -> bool:
        return self.strides == (1, 1) and self.fits

    @property
    def paired(self) -> bool:
        """Pooling over windows that tile the image 2, 4, 8 or 16 columns wide (kernel =
        strides, no top or left padding: VGG's 2x2 max pools): read in place, each window's
        columns combined in registers (even and odd lanes of two vectors, log2(width) times),
        no staging.
        A last window that runs past the bottom or right edge (ceil_mode) reads only the
        input's rows and columns and takes the pad value for the rest; it must start inside."""
        (h, wd), (oh, ow) = self.src_hw, self.out_hw
        return (
            self.combine != "fma"
            and self.kernel == self.strides
            and self.strides[1] in (2, 4, 8, 16)
            and self.pads == (0, 0)
            and (oh - 1) * self.strides[0] < h
            and (ow - 1) * self.strides[1] < wd
        )

    @property
    def staged(self) -> bool:
        return not self.direct and not self.paired

    @property
    def wide(self) -> bool:
        """Output rows of at most half a vector (a 7x7 map in 16 lanes) are computed over the
        plane's row pitch instead: position oh * wq + ow, whose taps are the same constant
        offsets, so vectors run across rows (the columns past `ow` are computed and dropped),
        then each row's lanes are shuffled out and stored. A 7x7 map with a pitch of 9 takes
        4 vectors instead of 7 masked ones."""
        (oh, ow), v = self.out_hw, self.vector
        if self.paired or self.init == "load" or ow * 2 > v:
            return False
        vectors = -(-((oh - 1) * self.wq + ow) // v)
        return vectors <= _WIDE_MAX_VECTORS and vectors < oh

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
        return phase_plane_hw(self.src_hw, self.out_hw, self.kernel, self.strides, self.direct)

    @property
    def plane(self) -> int:
        return self.hq * self.wq

    @property
    def slot_size(self) -> int:
        """One staged channel: its phase planes."""
        return self.phases * self.plane if self.staged else 0

    @property
    def batch(self) -> int:
        """Channels staged one after another before they are computed, for small planes: a
        tap's vector load then reads rows copied a batch of channels earlier, not rows the
        copy has just stored in pieces (a load spanning several pending stores waits for
        them all to reach the cache: store-to-load forwarding fails)."""
        if not self.staged:
            return 1
        return max(1, min(_STAGE_BATCH_MAX, _STAGE_BATCH_FLOATS // self.slot_size, self.channels))

    @property
    def stage_size(self) -> int:
        return self.batch * self.slot_size

    @property
    def in_size(self) -> int:
        return self.channels * self.src_hw[0] * self.src_hw[1]

    @property
    def out_size(self) -> int:
        return self.channels * self.out_hw[0] * self.out_hw[1]

    @property
    def taps(self) -> tuple[int, ...]:
        sh, sw = self.strides
        return tuple(
            ((kh % sh) * sw + kw % sw) * self.plane + (kh // sh) * self.wq + kw // sw
            for kh in range(self.kernel[0])
            for kw in range(self.kernel[1])
        )

    @property
    def weighted(self) -> bool:
        return self.combine == "fma"

    @property
    def used_groups(self) -> int:
        return max(1, min(self.groups, self.channels))

    def signature(self) -> str:
        args = [f"%in: memref<{self.in_size}xf32>"]
        if self.weighted:
            args.append(f"%w: memref<{self.channels * len(self.taps)}xf32>")
        if self.init == "row":
            args.append(f"%bias: memref<{self.channels}xf32>")
        if self.residual:
            args.append(f"%res: memref<{self.out_size}xf32>")
        if self.staged:
            args.append(f"%stage: memref<{self.used_groups * self.stage_size}xf32>")
        args.append(f"%out: memref<{self.out_size}xf32>")
        return f"func.func private @{self.name}({', '.join(args)})"


class _StencilEmitter:
    def __init__(self, spec: StencilSpec) -> None:
        self.s = spec
        self.w = FuncWriter()
        self.vt = f"vector<{spec.vector}xf32>"
        self.mt = f"vector<{spec.vector}xi1>"
        self.stage_t = f"memref<{spec.used_groups * spec.stage_size}xf32>"

    # ----- helpers ------------------------------------------------------------------------
    def add(self, base: str, offset: int) -> str:
        return self.w.add_index(base, offset)

    def mul(self, value: str, factor: int) -> str:
        return self.w.mul_index(value, factor)

    def addv(self, a: str, b: str) -> str:
        return self.w.op(f"arith.addi {a}, {b} : index", "i")

    def load(self, buf: str, buf_t: str, idx: str, lanes: int) -> str:
        return self.w.vector_load(buf, buf_t, idx, lanes, self.s.vector)

    def store(self, value: str, buf: str, buf_t: str, idx: str, lanes: int) -> None:
        self.w.vector_store(value, buf, buf_t, idx, lanes, self.s.vector)

    def loop(self, lo: int | str, hi: int | str, step: int = 1):
        """Opens `scf.for`; returns the induction variable (close with `end`)."""
        return self.w.for_loop(lo, hi, step)

    def end(self) -> None:
        self.w.end_loop()

    # ----- staging -------------------------------------------------------------------------
    def fill_stage(self, sb: str) -> None:
        """Sets a group's whole scratch %stage[sb...] to the pad value. Once per call is
        enough: every channel's copy writes the same places, so the padding between them
        is never overwritten."""
        s, w, v = self.s, self.w, self.s.vector
        pad = w.const(f"dense<{f32_literal(s.pad_value)}>", self.vt)
        full = s.stage_size // v * v
        if full:
            k = self.loop(0, full, v)
            self.store(pad, "%stage", self.stage_t, self.addv(sb, k), v)
            self.end()
        if s.stage_size % v:
            self.store(pad, "%stage", self.stage_t, self.add(sb, full), s.stage_size % v)

    def stage(self, c: str, sb: str) -> None:
        """Writes channel c's rows into its phase planes at %stage[sb...] (padding: fill_stage)."""
        s = self.s
        h, wd = s.src_hw
        sh, sw = s.strides
        top, left = s.pads
        in_t = f"memref<{s.in_size}xf32>"
        cb = self.mul(c, h * wd)
        for py in range(sh):
            i0 = max(0, -(-(top - py) // sh))
            i1 = min(s.hq - 1, (h - 1 + top - py) // sh)
            for px in range(sw):
                j0 = max(0, -(-(left - px) // sw))
                j1 = min(s.wq - 1, (wd - 1 + left - px) // sw)
                if i0 > i1 or j0 > j1:
                    continue
                count = j1 - j0 + 1
                col0 = j0 * sw + px - left  # first source column
                i = self.loop(i0, i1 + 1)
                src_row = self.add(self.mul(i, sh * wd), (py - top) * wd + col0)
                src = self.addv(cb, src_row)
                dst = self.addv(sb, self.add(self.mul(i, s.wq), (py * sw + px) * s.plane + j0))
                self.copy_row(src, dst, count, sw, in_t, wd - col0)
                self.end()

    def copy_row(self, src: str, dst: str, count: int, sw: int, in_t: str, available: int) -> None:
        """Copies `count` elements src[k * sw] -> dst[k]; `available` source elements remain in the row."""
        w, v = self.w, self.s.vector
        done = 0
        if sw == 1:
            chunks = count // v
            for q in range(chunks):
                x = self.load("%in", in_t, self.add(src, q * v), v)
                self.store(x, "%stage", self.stage_t, self.add(dst, q * v), v)
            if count % v:
                x = self.load("%in", in_t, self.add(src, chunks * v), count % v)
                self.store(x, "%stage", self.stage_t, self.add(dst, chunks * v), count % v)
            return
        if sw == 2:
            # A chunk reads 2v source elements; only take it while they stay in the row.
            chunks = min(count // v, available // (2 * v))
            even = ", ".join(str(2 * k) for k in range(v))
            for q in range(chunks):
                a = self.load("%in", in_t, self.add(src, 2 * q * v), v)
                b = self.load("%in", in_t, self.add(src, 2 * q * v + v), v)
                x = w.op(f"vector.shuffle {a}, {b} [{even}] : {self.vt}, {self.vt}", "v")
                self.store(x, "%stage", self.stage_t, self.add(dst, q * v), v)
            done = chunks * v
            rest = count - done
            if 0 < rest <= v:
                # The row's tail: masked loads of the source elements left in the row (the
                # lanes past it read as 0 and land only in odd lanes or past `rest`), one
                # shuffle, a masked store; an element-by-element copy here costs as much as
                # the vector part of a 56-wide row.
                left = min(2 * v, available - 2 * done)
                a = self.load("%in", in_t, self.add(src, 2 * done), min(v, left))
                b = (
                    self.load("%in", in_t, self.add(src, 2 * done + v), left - v)
                    if left > v
                    else w.const("dense<0.0>", self.vt)
                )
                x = w.op(f"vector.shuffle {a}, {b} [{even}] : {self.vt}, {self.vt}", "v")
                self.store(x, "%stage", self.stage_t, self.add(dst, done), rest)
                return
        if done < count:
            k = self.loop(done, count)
            x = w.op(f"memref.load %in[{self.addv(src, self.mul(k, sw))}] : {in_t}", "s")
            w.line(f"memref.store {x}, %stage[{self.addv(dst, k)}] : {self.stage_t}")
            self.end()

    # ----- compute -------------------------------------------------------------------------
    def channels(self, lo: int | str, hi: int | str, sb: str) -> None:
        """Channels [lo, hi) of one group, whose stage starts at %stage[sb]: one by one, or
        staged a `batch` at a time and then computed."""
        s, w = self.s, self.w
        if s.batch == 1:
            c = self.loop(lo, hi)
            self.channel(c, sb, stage=True)
            self.end()
            return
        hi = hi if isinstance(hi, str) else w.index(hi)
        c0 = self.loop(lo, hi, s.batch)
        c1 = w.op(f"arith.minui {self.add(c0, s.batch)}, {hi} : index", "i")
        for staging in (True, False):
            c = self.loop(c0, c1)
            offset = w.op(f"arith.subi {c}, {c0} : index", "i")
            slot = self.addv(sb, self.mul(offset, s.slot_size))
            if staging:
                self.stage(c, slot)
            else:
                self.channel(c, slot, stage=False)
            self.end()
        self.end()

    def channel(self, c: str, sb: str, stage: bool) -> None:
        """Channel c; a staged one reads its planes at %stage[sb], copied there first if
        `stage`."""
        s, w, vt, v = self.s, self.w, self.vt, self.s.vector
        oh_n, ow_n = s.out_hw
        if s.paired:
            self.paired_channel(c)
            return
        if s.direct:
            buf, buf_t = "%in", f"memref<{s.in_size}xf32>"
            base = self.mul(c, s.plane)
        else:
            buf, buf_t, base = "%stage", self.stage_t, sb
            if stage:
                self.stage(c, base)
        weights = []
        if s.weighted:
            wb = self.mul(c, len(s.taps))
            for t in range(len(s.taps)):
                x = w.op(
                    f"memref.load %w[{self.add(wb, t)}] : memref<{s.channels * len(s.taps)}xf32>",
                    "s",
                )
                weights.append(w.op(f"vector.broadcast {x} : f32 to {vt}", "v"))
        init = self.init_vector(c)
        out_t = f"memref<{s.out_size}xf32>"
        out_c = self.mul(c, oh_n * ow_n)
        if s.wide:
            self.wide_channel(buf, buf_t, base, weights, init, out_c)
            return
        oh = self.loop(0, oh_n)
        row_in = self.addv(base, self.mul(oh, s.wq))
        row_out = self.addv(out_c, self.mul(oh, ow_n))
        for j in range(-(-ow_n // v)):
            lanes = min(v, ow_n - j * v)
            o_idx = self.add(row_out, j * v)
            acc = self.load("%out", out_t, o_idx, lanes) if s.init == "load" else init
            acc = self.window(acc, buf, buf_t, row_in, j * v, lanes, weights)
            self.finish(acc, o_idx, lanes)
        self.end()

    def window(
        self, acc: str, buf: str, buf_t: str, at: str, shift: int, lanes: int, weights: list[str]
    ) -> str:
        """`acc` combined with every tap of the windows at positions at + shift ...: one
        load at the tap's constant offset each, then an FMA with its weight, or max / add."""
        s, w, vt = self.s, self.w, self.vt
        for t, offset in enumerate(s.taps):
            x = self.load(buf, buf_t, self.add(at, offset + shift), lanes)
            if s.weighted:
                acc = w.op(f"vector.fma {weights[t]}, {x}, {acc} : {vt}", "f")
            else:
                acc = self.combine(acc, x)
        return acc

    def wide_channel(
        self, buf: str, buf_t: str, base: str, weights: list[str], init: str, out_c: str
    ) -> None:
        """A `wide` channel: vectors over positions oh * wq + ow of the whole plane, then per
        output row one shuffle of the (at most two) vectors it lies in and a masked store."""
        s, w, vt, v = self.s, self.w, self.vt, self.s.vector
        (oh_n, ow_n), wq = s.out_hw, s.wq
        span = (oh_n - 1) * wq + ow_n
        accs = []
        for k in range(-(-span // v)):
            lanes = min(v, span - k * v)
            accs.append(self.window(init, buf, buf_t, base, k * v, lanes, weights))
        for r in range(oh_n):
            k, first = divmod(r * wq, v)
            second = accs[k + 1] if first + ow_n > v else accs[k]
            # Lanes past the row's width take lane 0: the masked store leaves them out.
            picks = ", ".join(str(first + lane if lane < ow_n else 0) for lane in range(v))
            row = w.op(f"vector.shuffle {accs[k]}, {second} [{picks}] : {vt}, {vt}", "v")
            self.finish(row, self.add(out_c, r * ow_n), ow_n)

    def combine(self, acc: str, x: str) -> str:
        op = "arith.maximumf" if self.s.combine == "max" else "arith.addf"
        return self.w.op(f"{op} {acc}, {x} : {self.vt}", "v")

    def init_vector(self, c: str) -> str | None:
        s, w, vt = self.s, self.w, self.vt
        init = None
        if s.init == "row":
            b = w.op(f"memref.load %bias[{c}] : memref<{s.channels}xf32>", "s")
            init = w.op(f"vector.broadcast {b} : f32 to {vt}", "v")
        elif s.init in ("const", "zero"):
            init = w.const(f"dense<{f32_literal(s.init_value if s.init == 'const' else 0.0)}>", vt)
        return init

    def finish(self, acc: str, o_idx: str, lanes: int) -> None:
        """The fused epilogue, then the store of one output vector."""
        s, out_t = self.s, f"memref<{self.s.out_size}xf32>"
        if s.epilogue is not None and not s.epilogue.empty:
            residual = self.load("%res", out_t, o_idx, lanes) if s.residual else None
            acc = s.epilogue.render(self.w, acc, self.vt, self.mt, residual)
        self.store(acc, "%out", out_t, o_idx, lanes)

    def paired_channel(self, c: str) -> None:
        """Channel c of a ``paired`` pooling: per output vector, `sw` loads from each of the
        window's rows, combined down the rows, then neighbouring lanes pairwise. Output rows
        whose window runs past the input's last row (ceil_mode) come after the loop, with
        only the rows that exist."""
        s = self.s
        (h, _), (oh_n, _), sh = s.src_hw, s.out_hw, s.strides[0]
        init = self.init_vector(c)
        whole = min(oh_n, h // sh)
        if whole:
            oh = self.loop(0, whole)
            self.paired_row(c, oh, sh, init)
            self.end()
        for r in range(whole, oh_n):
            self.paired_row(c, self.w.index(r), h - r * sh, init)

    def paired_row(self, c: str, oh: str, rows_in: int, init: str | None) -> None:
        """Output row `oh` of a paired pooling from the first `rows_in` rows of its window;
        the window's other rows and any columns past the input's width are the pad value."""
        s, w, v = self.s, self.w, self.s.vector
        (h, wd), (oh_n, ow_n), (sh, sw) = s.src_hw, s.out_hw, s.strides
        out_t = f"memref<{s.out_size}xf32>"
        pad = w.const(f"dense<{f32_literal(s.pad_value)}>", self.vt)
        row_in = self.addv(self.mul(c, h * wd), self.mul(oh, sh * wd))
        row_out = self.addv(self.mul(c, oh_n * ow_n), self.mul(oh, ow_n))
        for j in range(-(-ow_n // v)):
            lanes = min(v, ow_n - j * v)
            o_idx = self.add(row_out, j * v)
            parts = []
            for part in range(sw):
                part_lanes = min(v, sw * lanes - part * v)
                if part_lanes <= 0:
                    parts.append(w.const("dense<0.0>", self.vt))  # lanes past the output
                    continue
                col = sw * j * v + part * v
                real = min(part_lanes, wd - col)  # columns of the input (the rest: pad)
                if real <= 0:
                    rows = [pad]
                else:
                    rows = [
                        self.load_or_pad(self.add(row_in, kh * wd + col), real, part_lanes, pad)
                        for kh in range(rows_in)
                    ]
                    if rows_in < sh:
                        rows.append(pad)
                for x in rows[1:]:
                    rows[0] = self.combine(rows[0], x)
                parts.append(rows[0])
            window = self.fold_neighbours(parts)
            acc = self.load("%out", out_t, o_idx, lanes) if s.init == "load" else init
            self.finish(self.combine(acc, window), o_idx, lanes)

    def fold_neighbours(self, parts: list[str]) -> str:
        """Consecutive vectors x0 x1 ... (a power of two of them) read as one row of lanes:
        lane k of the result combines that row's lanes k*n ... k*n + n - 1 (n vectors).
        Each level combines the even lanes of a pair of vectors with their odd lanes."""
        v = self.s.vector
        even = ", ".join(str(2 * k) for k in range(v))
        odd = ", ".join(str(2 * k + 1) for k in range(v))
        while len(parts) > 1:
            folded = []
            for a, b in zip(parts[0::2], parts[1::2]):
                halves = [
                    self.w.op(f"vector.shuffle {a}, {b} [{sel}] : {self.vt}, {self.vt}", "v")
                    for sel in (even, odd)
                ]
                folded.append(self.combine(*halves))
            parts = folded
        return parts[0]

    def load_or_pad(self, idx: str, real: int, lanes: int, pad: str) -> str:
        """`lanes` lanes from %in at idx of which only the first `real` exist in the row: the
        others take the pad value (a plain masked load would give 0, which is data for max)."""
        v, in_t = self.s.vector, f"memref<{self.s.in_size}xf32>"
        if real >= lanes:
            return self.load("%in", in_t, idx, lanes)
        return self.w.op(
            f"vector.maskedload %in[{idx}], {self.w.mask(real, v)}, {pad} : "
            f"{in_t}, vector<{v}xi1>, {self.vt} into {self.vt}",
            "v",
        )

    def emit(self) -> str:
        s, w = self.s, self.w
        groups = s.used_groups
        if groups == 1:
            if s.staged:
                self.fill_stage(w.index(0))
            self.channels(0, s.channels, w.index(0))
        else:
            g = w.fresh("g")
            w.line(
                f"scf.parallel ({g}) = ({w.index(0)}) to ({w.index(groups)}) step ({w.index(1)}) {{"
            )
            w.indent()
            lo = w.op(f"arith.divui {self.mul(g, s.channels)}, {w.index(groups)} : index", "i")
            hi = w.op(
                f"arith.divui {self.mul(self.add(g, 1), s.channels)}, {w.index(groups)} : index",
                "i",
            )
            sb = self.mul(g, s.stage_size)
            if s.staged:
                self.fill_stage(sb)
            self.channels(lo, hi, sb)
            w.line("scf.reduce")
            w.dedent()
            w.line("}")
        w.line("return")
        return f"{s.signature()} {{\n{w.body()}\n}}\n"


def emit_stencil(spec: StencilSpec) -> str:
    if spec.combine not in COMBINES:
        raise ValueError(f"{spec.name}: unknown combine {spec.combine!r}; known: {COMBINES}")
    if spec.vector < 1 or min(spec.kernel) < 1 or min(spec.strides) < 1:
        raise ValueError(
            f"{spec.name}: bad stencil (vector {spec.vector}, kernel {spec.kernel}, strides {spec.strides})"
        )
    return _StencilEmitter(spec).emit()
