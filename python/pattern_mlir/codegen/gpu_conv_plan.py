"""Geometry of one pattern conv and the GPU tiling chosen for it.

Why a separate plan: the kernel emitter, the host-side arrays (filter groups,
per-channel-block runs) and the report all need the same decisions, and keeping
them in one frozen object means they cannot disagree. The choices follow from
the co-design (docs/design.md section 5) mapped to a GPU:

* output-channel groups: contiguous ranges of FKR-reordered filters with about
  equal kept-kernel work (``fkw.balanced_partition``); one workgroup row of the
  grid per group, so every workgroup does the same work and the filter loop is
  uniform inside a workgroup (no divergence);
* each invocation computes ``VW`` = 4 adjacent output columns of one row, so
  results leave as one vec4 store when the row length is a multiple of 4; when the
  output tile is smaller than a workgroup (deep layers), a third workgroup
  dimension of "filter lanes" splits the group's filters (FKR puts filters of
  equal length next to each other, so lanes stay in step);
* a workgroup covers ``TX * VW`` columns x ``TY`` rows; when the input tile of
  one channel block is reused enough, it is staged in shared memory once and
  serves every tap of every filter of the group (``staged``), otherwise each
  invocation reads global memory directly with bounds checks (``direct``). Staging
  is chosen only when every input channel of the tile fits in one block.

A ``#pattern.schedule`` on the op (``schedule_of`` / ``make_plan(schedule=...)``) sets the
tiling instead of the heuristic; its fields read, on the GPU: ``tile_cols`` output columns per
workgroup row (``TX = tile_cols / 4`` invocations), ``tile_rows`` output rows per workgroup
(``TY``), ``tile_filters`` filters per output-channel group, ``tile_channels`` channels staged
in shared memory per block (0: direct, no staging), ``unroll`` kernels per pattern-loop
iteration. ``vector_width`` must be 4 (the columns of one invocation); ``prefetch``,
``loop_order``, ``threads``, ``row_align`` and ``kernel_order`` are CPU fields and must keep
their GPU values (0, rows_outer, 0, 16, by_pattern), so a CPU schedule is rejected rather than
misread.

Nothing depends on the subgroup size (lavapipe 8, Adreno 64): there are no
subgroup operations, and workgroups are sized by the tile, not the subgroup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pattern_mlir.backend.spirv_tools import ADRENO_640
from pattern_mlir.codegen.geometry import ROW_ALIGN_FLOATS
from pattern_mlir.codegen.schedule import KERNEL_ORDERS, MAX_SCHEDULE_FILTERS, Schedule

#: Output columns per invocation (one vec4 store).
VECTOR_WIDTH = 4
#: Invocations per workgroup the tiling aims at (a multiple of Adreno's wave size 64
#: would be too large for lavapipe-sized test layers; 64 fits both).
TARGET_INVOCATIONS = 64
#: Shared memory one workgroup may use for staging (half of Adreno 640's 32 KiB, so two
#: workgroups can be resident per core).
SHARED_BUDGET_BYTES = 16 * 1024
#: Staging pays when direct global loads would exceed staged loads by this factor.
STAGING_MIN_REUSE = 2.0
#: What an explicit schedule may use at most: the Adreno 640's workgroup limits (a tuned
#: schedule may trade the second resident workgroup for a larger staged tile).
MAX_INVOCATIONS = ADRENO_640.max_workgroup_invocations
MAX_SHARED_BYTES = ADRENO_640.max_shared_memory_bytes


@dataclass(frozen=True)
class GpuConvGeometry:
    """Static shape of a pattern conv (NCHW, zero padding ``[top, left, bottom, right]``)."""

    n: int
    in_channels: int
    height: int
    width: int
    out_channels: int
    out_height: int
    out_width: int
    kernel: tuple[int, int]
    strides: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilations: tuple[int, int]

    @property
    def input_size(self) -> int:
        return self.n * self.in_channels * self.height * self.width

    @property
    def output_size(self) -> int:
        return self.n * self.out_channels * self.out_height * self.out_width


@dataclass(frozen=True)
class GpuConvPlan:
    """Tiling of one pattern conv; see the module docstring."""

    threads: tuple[int, int]  # (TX, TY)
    filter_lanes: int  # TZ: invocations that split the group's filters (small outputs)
    tiles: tuple[int, int]  # (tiles along x, tiles along y)
    groups: int  # output-channel groups (grid y)
    staged: bool
    channel_block: int  # channels staged at once (= in_channels when direct)
    channel_blocks: int  # ceil(in_channels / channel_block), at least 1
    tile_in: tuple[int, int]  # staged input tile (rows, cols) of one channel
    unroll: int = 1  # kernels per iteration of each pattern loop (short bodies unrolled)
    filters_per_group: int = 0  # filters of one output-channel group (before filter lanes)

    @property
    def workgroup_size(self) -> tuple[int, int, int]:
        return (self.threads[0], self.threads[1], self.filter_lanes)

    def grid(self, geom: GpuConvGeometry) -> tuple[int, int, int]:
        return (self.tiles[0] * self.tiles[1], self.groups, geom.n)

    @property
    def shared_bytes(self) -> int:
        if not self.staged:
            return 0
        return 4 * self.channel_block * self.tile_in[0] * self.tile_in[1]


def _pow2_at_least(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(1, n))))


def _pow2_at_most(n: int) -> int:
    return 1 << max(0, math.floor(math.log2(max(1, n))))


def input_tile(geom: GpuConvGeometry, tx: int, ty: int) -> tuple[int, int]:
    """Rows and columns of input one workgroup's output tile reads (one channel); columns
    rounded up to whole vec4s, the unit the tile is staged and read in."""
    (sh, sw), (dh, dw), (kh, kw) = geom.strides, geom.dilations, geom.kernel
    rows = (ty - 1) * sh + (kh - 1) * dh + 1
    cols = (tx * VECTOR_WIDTH - 1) * sw + (kw - 1) * dw + 1
    return rows, -(-cols // VECTOR_WIDTH) * VECTOR_WIDTH


def distinct_tap_offsets(taps: np.ndarray, geom: GpuConvGeometry) -> int:
    """Distinct input positions one invocation reads per kernel (after load reuse).

    ``taps``: int[P, T, 2] (ky, kx). The worst pattern counts, since every pattern
    of the library runs.
    """
    (_, sw), (dh, dw) = geom.strides, geom.dilations
    worst = 0
    for pattern in taps:
        offsets = {
            (int(ky) * dh, j * sw + int(kx) * dw) for ky, kx in pattern for j in range(VECTOR_WIDTH)
        }
        worst = max(worst, len(offsets))
    return worst


def _check_gpu_schedule(schedule: Schedule) -> None:
    cpu_only = {
        "prefetch": 0,
        "loop_order": "rows_outer",
        "threads": 0,
        "row_align": ROW_ALIGN_FLOATS,
        "kernel_order": KERNEL_ORDERS[0],
    }
    if schedule.vector_width != VECTOR_WIDTH:
        raise ValueError(
            f"a GPU schedule computes {VECTOR_WIDTH} output columns per invocation: "
            f"vector_width must be {VECTOR_WIDTH}, got {schedule.vector_width} "
            "(is this a CPU schedule?)"
        )
    for field, value in cpu_only.items():
        if getattr(schedule, field) != value:
            raise ValueError(
                f"schedule field {field} has no meaning on the GPU and must be {value}, "
                f"got {getattr(schedule, field)}"
            )


def make_plan(
    geom: GpuConvGeometry,
    taps: np.ndarray,
    num_kernels: int,
    *,
    schedule: Schedule | None = None,
    filters_per_group: int | None = None,
    staged: bool | None = None,
    unroll: int | None = None,
    shared_budget: int = SHARED_BUDGET_BYTES,
) -> GpuConvPlan:
    """Choose threads, tiles, filter groups and staging for one conv.

    ``schedule`` (a ``#pattern.schedule``, read as in the module docstring) replaces the
    heuristic's tiling; ``filters_per_group``, ``staged`` and ``unroll`` override single
    choices (tests use them to cover both kernel variants). Raises ValueError for a
    schedule the kernel cannot run (too many invocations, too much shared memory).
    """
    if schedule is not None:
        _check_gpu_schedule(schedule)
        filters_per_group = filters_per_group or schedule.tile_filters
        unroll = unroll or schedule.unroll
        if staged is None:
            staged = schedule.tile_channels > 0
    # Exact tiles (not powers of two): small layers would otherwise leave up to 3/4 of the
    # invocations idle behind the bounds guard.
    columns = math.ceil(geom.out_width / VECTOR_WIDTH)
    if schedule is not None:
        tx = min(schedule.tile_cols // VECTOR_WIDTH, columns)
        ty = min(schedule.tile_rows, geom.out_height)
        if tx * ty > MAX_INVOCATIONS:
            raise ValueError(
                f"a workgroup of {tx}x{ty} invocations exceeds the {MAX_INVOCATIONS} allowed"
            )
    else:
        tx = min(16, columns)
        ty = min(geom.out_height, max(1, TARGET_INVOCATIONS // tx))
    tiles = (
        math.ceil(geom.out_width / (tx * VECTOR_WIDTH)),
        math.ceil(geom.out_height / ty),
    )
    # Small outputs leave the tile short of TARGET_INVOCATIONS: the rest of the workgroup
    # splits the group's filters (z lanes), so deep layers still get full workgroups.
    lanes = min(_pow2_at_most(TARGET_INVOCATIONS // (tx * ty)), _pow2_at_least(geom.out_channels))
    fpg = max(filters_per_group or (8 if geom.out_channels >= 64 else 4), lanes)
    groups = max(1, math.ceil(geom.out_channels / fpg))

    rows, cols = input_tile(geom, tx, ty)
    plane = rows * cols
    block = min(geom.in_channels, shared_budget // (4 * plane))
    if schedule is not None and schedule.tile_channels:
        block = min(schedule.tile_channels, geom.in_channels)
        if 4 * block * plane > MAX_SHARED_BYTES:
            raise ValueError(
                f"staging {block} channels of a {rows}x{cols} input tile takes "
                f"{4 * block * plane} bytes of shared memory, over the {MAX_SHARED_BYTES} "
                "a workgroup has"
            )
    if staged is None:
        # Global loads per workgroup: direct reads every kept kernel's taps per invocation;
        # staged reads each input position of the tile once per channel. Staging is only
        # chosen when all channels fit in one block: with several blocks the partial sums
        # make a round trip through global memory per block and the extra barrier pairs
        # cost more than the reuse saves (measured on lavapipe: docs/gpu.md).
        kernels_per_group = num_kernels / groups
        # (tx * ty * lanes invocations each run kernels_per_group / lanes kernels)
        direct = kernels_per_group * distinct_tap_offsets(taps, geom) * tx * ty
        staged_loads = geom.in_channels * plane
        one_block = block >= geom.in_channels
        staged = one_block and direct >= STAGING_MIN_REUSE * staged_loads
    elif staged and block < 1:
        raise ValueError(
            f"one channel's input tile ({rows}x{cols} floats) exceeds the shared budget "
            f"of {shared_budget} bytes"
        )
    if not staged:
        block = geom.in_channels
    blocks = math.ceil(geom.in_channels / block) if geom.in_channels else 1
    return GpuConvPlan(
        threads=(tx, ty),
        filter_lanes=lanes,
        tiles=tiles,
        groups=groups,
        staged=bool(staged),
        channel_block=max(1, block),
        channel_blocks=max(1, blocks),
        tile_in=(rows, cols),
        unroll=unroll or _default_unroll(taps.shape[1]),
        filters_per_group=fpg,
    )


def schedule_of(plan: GpuConvPlan) -> Schedule:
    """The ``#pattern.schedule`` that makes ``make_plan`` choose ``plan``'s tiling."""
    return Schedule(
        tile_rows=plan.threads[1],
        tile_cols=plan.threads[0] * VECTOR_WIDTH,
        tile_filters=min(plan.filters_per_group, MAX_SCHEDULE_FILTERS),
        tile_channels=plan.channel_block if plan.staged else 0,
        vector_width=VECTOR_WIDTH,
        unroll=plan.unroll,
        prefetch=0,
        loop_order="rows_outer",
        threads=0,
    )


def _default_unroll(taps_per_kernel: int) -> int:
    """Unroll short loop bodies: a 1-tap (1x1 conv) body is 4 FMAs, all loop overhead."""
    return 4 if taps_per_kernel == 1 else 2 if taps_per_kernel <= 4 else 1
