"""The tuning half of the layerwise representation: how one pattern conv is tiled.

Field names map 1:1 onto the ``#pattern.schedule`` attribute. ``default_schedule`` picks a
register block from the output shape so that the accumulators fit the target's vector
registers (16 accumulators on AVX-512: 28-32 spill and cost 1.4-2.3x) and the block is as tall
as possible (a taller block shares more input rows between the taps of a pattern).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LOOP_ORDERS", "TARGETS", "Schedule", "TargetInfo", "default_schedule"]

LOOP_ORDERS = ("rows_outer", "filters_outer")


@dataclass(frozen=True)
class TargetInfo:
    """What the schedule heuristic needs to know about a CPU target."""

    name: str
    vector_width: int  # fp32 lanes of the native vector register
    accumulators: int  # accumulator vectors one register block may keep live
    prefetch: int  # default prefetch distance in kernels (0 = none)


TARGETS = {
    "host": TargetInfo("host", vector_width=16, accumulators=16, prefetch=2),
    "arm64-neon": TargetInfo("arm64-neon", vector_width=4, accumulators=20, prefetch=0),
}


@dataclass(frozen=True)
class Schedule:
    """Loop tiling of one pattern conv.

    tile_rows:    output rows per register block.
    tile_cols:    output columns per register block (a multiple of vector_width); the tail
                  of a row gets a narrower remainder vector instead of padding.
    tile_filters: filters per register block (only 1 is generated today).
    vector_width: fp32 lanes of the vectors along output width.
    unroll:       unroll factor of the per-pattern loop over a filter's kernels.
    prefetch:     prefetch the input rows of the kernel this many kernels ahead (0 = off).
    loop_order:   "rows_outer" (row tile outside, all filters reuse it from cache) or
                  "filters_outer" (each filter sweeps the whole image).
    threads:      worker threads over balanced filter groups (0 = one per CPU).
    """

    tile_rows: int = 4
    tile_cols: int = 64
    tile_filters: int = 1
    vector_width: int = 16
    unroll: int = 1
    prefetch: int = 2
    loop_order: str = "rows_outer"
    threads: int = 0

    def __post_init__(self) -> None:
        for name in ("tile_rows", "tile_cols", "tile_filters", "vector_width", "unroll"):
            if getattr(self, name) < 1:
                raise ValueError(f"schedule {name} must be >= 1, got {getattr(self, name)}")
        if self.vector_width & (self.vector_width - 1):
            raise ValueError(
                f"schedule vector_width must be a power of two, got {self.vector_width}"
            )
        if self.tile_cols % self.vector_width:
            raise ValueError(
                f"schedule tile_cols ({self.tile_cols}) must be a multiple of vector_width ({self.vector_width})"
            )
        if self.tile_filters != 1:
            raise ValueError(
                f"schedule tile_filters must be 1 (filter blocking is not generated), got {self.tile_filters}"
            )
        if self.prefetch < 0 or self.threads < 0:
            raise ValueError(
                f"schedule prefetch and threads must be >= 0, got {self.prefetch}, {self.threads}"
            )
        if self.loop_order not in LOOP_ORDERS:
            raise ValueError(
                f"schedule loop_order must be one of {LOOP_ORDERS}, got {self.loop_order!r}"
            )


def _target(target: str) -> TargetInfo:
    try:
        return TARGETS[target]
    except KeyError:
        raise ValueError(f"unknown target {target!r}; known targets: {sorted(TARGETS)}") from None


def default_schedule(out_height: int, out_width: int, target: str = "host") -> Schedule:
    """A register block for an ``out_height x out_width`` output on ``target``.

    Vectors per row v = ceil(Wo / vector_width). Blocks of c vectors and r rows with
    r * c <= accumulators; among those, prefer few wasted lanes and rows (remainder tiles),
    then tall blocks (input rows shared between taps), then wide ones.
    """
    info = _target(target)
    vw = info.vector_width
    vectors = -(-out_width // vw)
    best = None
    for cols in range(1, min(vectors, info.accumulators) + 1):
        rows = min(info.accumulators // cols, out_height)
        col_tiles = -(-vectors // cols)
        row_tiles = -(-out_height // rows)
        # Lanes computed / lanes useful: remainder tiles run narrower, not padded, so this
        # only penalises blocks whose tails are much smaller than the block itself.
        fill = (out_width * out_height) / (col_tiles * cols * vw * row_tiles * rows)
        score = (round(fill, 1), rows * cols, rows)
        if best is None or score > best[0]:
            best = (score, rows, cols)
    _, rows, cols = best
    return Schedule(
        tile_rows=rows,
        tile_cols=cols * vw,
        vector_width=vw,
        prefetch=info.prefetch,
    )
