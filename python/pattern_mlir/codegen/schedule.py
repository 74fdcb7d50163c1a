"""The tuning half of the layerwise representation: how one pattern conv is tiled.

Field names map 1:1 onto the ``#pattern.schedule`` attribute. ``default_schedule`` picks a
register block from the output shape so that the accumulators fit the target's vector registers
(blocks that spill cost more than any gain; measured: docs/design.md, section 10) and the block
is as tall as possible (a taller block shares more input rows between the taps of a pattern).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..target import Target, resolve_target
from ..target.schedule_rules import with_schedule_rules
from .geometry import ROW_ALIGN_FLOATS

__all__ = [
    "KERNEL_ORDERS",
    "LOOP_ORDERS",
    "MAX_SCHEDULE_FILTERS",
    "Schedule",
    "cpu_target",
    "default_schedule",
    "filter_groups",
    "schedule_from_fields",
    "schedule_text",
]

LOOP_ORDERS = ("rows_outer", "filters_outer")
KERNEL_ORDERS = ("by_pattern", "by_channel")
MAX_SCHEDULE_FILTERS = 32  # filters of one register block (one workgroup group on the GPU)
_STRIDE2_BY_CHANNEL = {
    "kernel_order": "by_channel",
    "tile_channels": 16,
    "prefetch": 0,
}  # see _tuned_rules


@dataclass(frozen=True)
class Schedule:
    """Loop tiling of one pattern conv.

    tile_rows:    output rows per register block.
    tile_cols:    output columns per register block (a multiple of vector_width); the tail
                  of a row gets a narrower remainder vector instead of padding.
    tile_filters: filters per register block: their kernels of each pattern run in lockstep,
                  each filter with its own rows x vectors accumulators.
    tile_channels: input channels per cache block (0 = all). With rows_outer, every filter
                  first streams only kernels of the channels in the block, so the block's
                  input rows stay in L1 across filters; partial sums go through the output.
    vector_width: fp32 lanes of the vectors along output width.
    unroll:       unroll factor of the per-pattern loop over a filter's kernels.
    prefetch:     prefetch the input rows of the kernel this many kernels ahead (0 = off).
    loop_order:   "rows_outer" (row tile outside, all filters reuse it from cache) or
                  "filters_outer" (each filter sweeps the whole image).
    threads:      balanced filter groups run in parallel (0 = the compile's thread count);
                  capped by that count (``filter_groups``).
    row_align:    rows of the padded input are a multiple of this many floats (16: each row
                  starts on a cache line; smaller: less padding, more of the image in cache).
    kernel_order: "by_pattern" (one loop per pattern, constant tap offsets, taps share
                  loads) or "by_channel" (one loop over a filter's kernels in channel order,
                  tap offsets from a table; needs tile_filters = unroll = 1, prefetch = 0).
    """

    tile_rows: int = 4
    tile_cols: int = 64
    tile_filters: int = 1
    tile_channels: int = 0
    vector_width: int = 16
    unroll: int = 1
    prefetch: int = 2
    loop_order: str = "rows_outer"
    threads: int = 0
    row_align: int = ROW_ALIGN_FLOATS
    kernel_order: str = "by_pattern"

    def __post_init__(self) -> None:
        for name in ("tile_rows", "tile_cols", "tile_filters", "vector_width", "unroll"):
            if getattr(self, name) < 1:
                raise ValueError(f"schedule {name} must be >= 1, got {getattr(self, name)}")
        if self.vector_width & (self.vector_width - 1):
            raise ValueError(
                f"schedule vector_width must be a power of two, got {self.vector_width}"
            )
        if not 1 <= self.row_align <= 64 or self.row_align & (self.row_align - 1):
            raise ValueError(
                f"schedule row_align must be a power of two in [1, 64], got {self.row_align}"
            )
        if self.tile_cols % self.vector_width:
            raise ValueError(
                f"schedule tile_cols ({self.tile_cols}) must be a multiple of vector_width ({self.vector_width})"
            )
        if self.tile_filters > MAX_SCHEDULE_FILTERS:
            raise ValueError(
                f"schedule tile_filters must be <= {MAX_SCHEDULE_FILTERS}, got {self.tile_filters}"
            )
        if self.tile_channels < 0:
            raise ValueError(f"schedule tile_channels must be >= 0, got {self.tile_channels}")
        if self.tile_channels and self.loop_order != "rows_outer":
            raise ValueError("schedule tile_channels needs loop_order 'rows_outer'")
        if self.prefetch < 0 or self.threads < 0:
            raise ValueError(
                f"schedule prefetch and threads must be >= 0, got {self.prefetch}, {self.threads}"
            )
        if self.loop_order not in LOOP_ORDERS:
            raise ValueError(
                f"schedule loop_order must be one of {LOOP_ORDERS}, got {self.loop_order!r}"
            )
        if self.kernel_order not in KERNEL_ORDERS:
            raise ValueError(
                f"schedule kernel_order must be one of {KERNEL_ORDERS}, got {self.kernel_order!r}"
            )
        if self.kernel_order == "by_channel" and (
            self.tile_filters,
            self.unroll,
            self.prefetch,
        ) != (1, 1, 0):
            raise ValueError(
                "schedule kernel_order 'by_channel' needs tile_filters = 1, unroll = 1 and "
                f"prefetch = 0, got {self.tile_filters}, {self.unroll}, {self.prefetch}"
            )


def schedule_text(s: Schedule) -> str:
    """``s`` as a ``#pattern.schedule`` attribute in MLIR syntax."""
    return (
        f"#pattern.schedule<tile_rows = {s.tile_rows}, tile_cols = {s.tile_cols}, "
        f"tile_filters = {s.tile_filters}, tile_channels = {s.tile_channels}, "
        f"vector_width = {s.vector_width}, unroll = {s.unroll}, prefetch = {s.prefetch}, "
        f"loop_order = {s.loop_order}, threads = {s.threads}"
        # Optional in the attribute; printed like MLIR prints it (only when not the default).
        + (f", row_align = {s.row_align}" if s.row_align != ROW_ALIGN_FLOATS else "")
        + (f", kernel_order = {s.kernel_order}" if s.kernel_order != KERNEL_ORDERS[0] else "")
        + ">"
    )


def schedule_from_fields(fields: dict[str, str]) -> Schedule:
    """A Schedule from its fields as text (the CLI's ``name=value``): text fields (loop and
    kernel order) stay text, the others are integers."""
    types = {f.name: f.type for f in dataclasses.fields(Schedule)}
    for name in fields:
        if name not in types:
            raise ValueError(f"unknown schedule field {name!r}; known: {', '.join(types)}")
    return Schedule(**{k: v if types[k] == "str" else int(v) for k, v in fields.items()})


def filter_groups(schedule: Schedule, thread_budget: int, out_channels: int) -> int:
    """Parallel filter groups of one conv: the schedule's ``threads``, or the compile's thread
    count where it says 0; never more than that count (the executable's workers) or than
    the filters."""
    budget = max(1, thread_budget)
    wanted = schedule.threads or budget
    return max(1, min(wanted, budget, out_channels))


def cpu_target(target: str | Target) -> Target:
    """The description of CPU target `target` (a name or a record); GPU targets are refused."""
    info = resolve_target(target)
    if info.kind != "cpu":
        raise ValueError(f"target {info.name!r} is not a CPU target")
    return info


def default_schedule(
    out_height: int,
    out_width: int,
    target: str | Target = "host",
    in_channels: int = 0,
    stride: int = 1,
    tuned_rules: bool = True,
    vendor: str | None = None,
    family: int | None = None,
) -> Schedule:
    """A schedule for an ``out_height x out_width`` output with ``in_channels`` inputs.

    Register block: rows of whole vectors, at most the target's ``pattern_accumulators``
    (``pattern_wide_accumulators`` for blocks of three vectors or more). A row of up to
    ``pattern_row_vectors`` (8 on AVX-512, 5 on AVX2, 4 on NEON) is kept whole (one column
    block: no input halo is fetched twice), the rest of the budget goes to rows; wider rows
    are cut into blocks of that many vectors, on x86 of equal width. Measured on the AVX-512
    host: 4 x 64 beats 8 x 32 at width 56, 2 x 128 beats 4 x 64 at width 224, and 3 x 112, the
    equal split, ran as fast as 3 x 128 (docs/design.md, section 10); AVX2 in docs/targets.md.

    Cache block over input channels: the input rows one kernel touches are
    (rows + 2) x ceil((cols + 2) / 16) cache lines; as many channels as fill the target's
    L1 data cache form a block, a multiple of 8 (off when all channels fit). Measured at VGG
    conv3_2: blocks of 24-32 channels gain, 16 or 48 less (docs/design.md, section 10).
    Prefetching only pays without blocking.

    ``tuned_rules`` then applies what tuning taught (``_tuned_rules``, x86 targets only); False
    gives the heuristic above alone (the tuning report's baseline). Which rules hold is part
    of the target's record (set from the CPU that runs it); ``vendor`` (and ``family``; None
    with a vendor: unknown) asks for those of another CPU instead.
    """
    info = cpu_target(target)
    vw = info.lanes
    vectors = -(-out_width // vw)
    # A row too wide for one block splits into blocks of equal width (AVX2, 7 vectors: 4 + 3,
    # not 5 + 2), each as tall as the accumulators allow. Measured on x86 only: NEON keeps
    # blocks of its full width.
    cols = min(vectors, info.pattern_row_vectors)
    if info.fma_memory_operand:
        cols = -(-vectors // -(-vectors // info.pattern_row_vectors))
    accumulators = info.pattern_wide_accumulators if cols >= 3 else info.pattern_accumulators
    rows = max(1, min(accumulators // cols, out_height))
    lines = -(-(cols * vw + 2) // 16)
    per_channel = (rows + 2) * lines * 64
    block = max(8, (info.l1d_bytes // per_channel) // 8 * 8)
    tile_channels = block if in_channels > block else 0
    base = Schedule(
        tile_rows=rows,
        tile_cols=cols * vw,
        tile_channels=tile_channels,
        vector_width=vw,
        prefetch=0 if tile_channels else info.prefetch,
    )
    if not tuned_rules or not info.triple.startswith("x86_64"):
        return base
    if vendor is not None:
        info = with_schedule_rules(info, vendor, family or 0)
    return _tuned_rules(base, info, out_height, out_width, stride)


def _tuned_rules(
    d: Schedule, info: Target, out_height: int, out_width: int, stride: int
) -> Schedule:
    """Rules learned from tuning VGG-16 and ResNet-50 on the AVX-512 host (docs/tuning.md;
    each gain an interleaved A/B median, repeated twice). Together, with no tuning at all, they
    leave VGG-16 about as it was and speed up ResNet-50 on the Intel host, and speed up both
    on the AMD Zen 4 host with the AMD rule below; every rule's figures are in docs/design.md,
    section 10. Which rules hold is a field of the target (in brackets;
    `target/schedule_rules.py` sets them per CPU).

    * Tiny outputs (the whole output fits one register block of at most 8 accumulators, e.g.
      the 7x7 maps of ResNet-50's last stage): no channel blocking. With so few accumulators a
      channel block holds less than one kernel per pattern loop, so loop setup and the partial
      sums going through the output cost more than the L1 reuse gains. Stride 1: prefetch on;
      stride 2: filters outermost, no prefetch (on the Intel host; prefetch there lost). On
      AMD Zen 4 that lost too; there stride 2 keeps a channel block (16 channels, by channel:
      the last rule) and pads input rows to 4 floats, not 16 (rows of 9 floats: 12 instead of
      16), which alone gained over the heuristic (tuning report and an interleaved A/B).
    * Stride 2: half the rows per register block. Neighbouring output rows share only one
      input row instead of two, so tall blocks buy little reuse, while their input rows (x2 for
      the stride, x2 phase planes) crowd L1.
    * Stride 1: a row block one row shorter when it then divides the output height (no short
      remainder block): 8 -> 7 rows at 28x28. Marginal: a small gain on average over five
      measurements of four layers.
    * [not stride1_channel_blocks] AMD (Zen 4 and Zen 5), stride 1: no channel blocking,
      prefetch instead, and one row more per register block where a row holds at least 4
      vectors (2 -> 3 rows at widths 224 and 112, 4 -> 5 at 56). On Zen 4 (32 KiB L1, 1 MiB
      L2) it sped up every one of the 11 distinct stride-1 VGG-16 / ResNet-50 3x3 convs it
      changes (512->512 7x7 had no block already) at 1 thread, the extra row adding to it; the
      Zen 5 tuning report dropped the channel block on every stride-1 layer of 14x14 and more
      but VGG conv2_x and conv3_1, and chose the same taller blocks. At stride 2 the channel
      block still wins on Zen 4, so it stays. The Intel Xeon host measured the opposite
      (channel blocks gain there, unblocked loses), hence a field per CPU.
    * [split_two_vector_rows] AMD family 25 (Zen 4, double-pumped AVX-512; Zen 3 has no
      AVX-512), stride 1, rows of two 16-lane vectors (17-32 columns): 8-lane vectors, four
      per row, and as many rows as the accumulators allow (4 at 28x28, dividing the height).
      On Zen 4 it beat the AMD rule's 7 x 32/16 on every 28x28 layer measured (6 rows gained
      too). The tuner found the same (5-6 x 32/8 on every 28x28 layer). Zen 5 (family 26) kept
      16 lanes when tuned, so the rule stops at family 25.
    * [stride1_row_align] AMD, stride 1: input rows padded to a multiple of 8 floats, not 16.
      A 14x14 map's rows need 18 floats: 24 instead of 32 per row puts a quarter less of the
      input through the caches. On Zen 4 that gains on the 14x14 layers and is neutral on the
      28-224 wide ones; at stride 2 it lost, so stride 2 keeps 16 (the tuner may pick 4 or 8).
    * [stride2_by_channel, tiny_stride2_row_align] AMD, stride 2: kernels in channel order
      (``kernel_order`` by_channel) in blocks of 16 channels. At stride 2 taps share few input
      loads, so the per-pattern loops' only gain is small; one loop per block makes 16-channel
      blocks (whose input rows stay in L1) cheap. On Zen 4 it beat the pattern-loop rules above
      on all three stride-2 layers of ResNet-50, with caches warm and with caches flushed
      before each run (as weights come from DRAM in a whole model), and the whole of
      ResNet-50 a little.
    """
    vectors = min(d.tile_cols // d.vector_width, -(-out_width // d.vector_width))
    if out_height <= d.tile_rows and d.tile_rows * vectors <= 8:
        if stride > 1 and info.stride2_by_channel:
            return dataclasses.replace(
                d, row_align=info.tiny_stride2_row_align, **_STRIDE2_BY_CHANNEL
            )
        if stride > 1:
            return dataclasses.replace(d, tile_channels=0, prefetch=0, loop_order="filters_outer")
        return dataclasses.replace(d, tile_channels=0, prefetch=info.prefetch)
    if stride > 1:
        d = dataclasses.replace(d, tile_rows=max(1, -(-d.tile_rows // 2)))
        return dataclasses.replace(d, **_STRIDE2_BY_CHANNEL) if info.stride2_by_channel else d
    if d.tile_rows > 1 and out_height % d.tile_rows and out_height % (d.tile_rows - 1) == 0:
        d = dataclasses.replace(d, tile_rows=d.tile_rows - 1)
    if not info.stride1_channel_blocks and d.tile_channels:
        # The extra row takes registers from the taps' weights and inputs: measured with up
        # to 24 of 32 zmm; with 16 ymm the taller block spills inside the pattern loop.
        taller = (
            vectors >= 4
            and d.tile_rows < out_height
            and (d.tile_rows + 1) * vectors <= info.vector_registers - 8
        )
        d = dataclasses.replace(
            d,
            tile_channels=0,
            prefetch=info.prefetch,
            tile_rows=d.tile_rows + taller,
        )
    d = dataclasses.replace(d, row_align=info.stride1_row_align)
    if info.split_two_vector_rows and vectors == 2 and d.vector_width == info.lanes:
        narrow = info.pattern_accumulators // 4
        d = dataclasses.replace(
            d, vector_width=8, tile_cols=32, tile_rows=max(1, min(narrow, out_height))
        )
    return d
