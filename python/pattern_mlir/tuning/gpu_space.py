"""The GPU schedule space of one layer: workgroup tiling, filter groups, staging, unroll.

The same genetic search runs over it as over the CPU space (``space.ScheduleSpace``: genes,
mutation, crossover, neighbours); only the genes and what makes a point valid differ. A point
is a ``#pattern.schedule`` read the GPU way (``codegen.gpu_conv_plan``): ``tile_cols / 4`` x
``tile_rows`` invocations per workgroup, ``tile_filters`` filters per output-channel group,
``tile_channels`` staged channels per block (0: direct global reads), ``unroll``. A point is
valid when ``make_plan`` accepts it (at most 1024 invocations, staged tile within the 32 KiB
of shared memory), and canonical as the schedule of the plan it makes, so tilings the
clamping makes equal are measured once.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from ..codegen.fkw import library_taps
from ..codegen.gpu_conv_plan import VECTOR_WIDTH, GpuConvGeometry, make_plan, schedule_of
from ..codegen.schedule import Schedule
from ..tuning_db.space import ScheduleSpace

__all__ = ["GpuScheduleSpace"]

_SIDES = (1, 2, 4, 8, 16, 32, 64)
_GROUP_FILTERS = (4, 8, 16, 32)
_STAGED_BLOCKS = (4, 8, 16, 32, 64, 128, 256)


@dataclass(frozen=True)
class GpuScheduleSpace(ScheduleSpace):
    """Tilings of one pattern conv on the GPU; ``default()`` is the plan heuristic's."""

    geometry: GpuConvGeometry | None = None
    taps: np.ndarray | None = field(default=None, compare=False, hash=False)
    num_kernels: int = 0

    @staticmethod
    def of_layer(layer) -> GpuScheduleSpace:
        """The space of a ``TuneLayer`` (target ``vulkan-adreno``)."""
        sig, packed = layer.signature, layer.packed
        geom = GpuConvGeometry(
            n=1,
            in_channels=sig.in_channels,
            height=sig.height,
            width=sig.width,
            out_channels=sig.out_channels,
            out_height=sig.out_height,
            out_width=sig.out_width,
            kernel=(3, 3),
            strides=sig.stride,
            padding=sig.padding,
            dilations=sig.dilation,
        )
        return GpuScheduleSpace(
            sig.out_height,
            sig.out_width,
            sig.in_channels,
            "host",  # the parent's CPU target check; the GPU genes below replace its genes
            sig.stride[0],
            geometry=geom,
            taps=library_taps(packed.library),
            num_kernels=packed.num_kernels,
        )

    def genes(self) -> dict[str, tuple]:
        return self._genes

    @functools.cached_property
    def _genes(self) -> dict[str, tuple]:
        # Cached: the search asks for the genes on every mutation, and they need a plan.
        columns = math.ceil(self.out_width / VECTOR_WIDTH)
        default = self.default()

        def sides(limit: int, own: int) -> tuple[int, ...]:
            return tuple(sorted({v for v in _SIDES if v <= limit} | {min(limit, 64), own}))

        blocks = {c for c in _STAGED_BLOCKS if c < self.in_channels} | {self.in_channels}
        return {
            "vector_width": (VECTOR_WIDTH,),
            "tile_rows": sides(self.out_height, default.tile_rows),
            "vectors": sides(columns, default.tile_cols // VECTOR_WIDTH),
            "tile_filters": tuple(sorted(set(_GROUP_FILTERS) | {default.tile_filters})),
            "tile_channels": (0, *sorted(blocks)),
            "unroll": (1, 2, 4),
            "prefetch": (0,),
            "loop_order": ("rows_outer",),
        }

    def make(self, genome: dict) -> Schedule | None:
        g = genome
        try:
            s = Schedule(
                tile_rows=g["tile_rows"],
                tile_cols=g["vectors"] * VECTOR_WIDTH,
                tile_filters=g.get("tile_filters", 8),
                tile_channels=g["tile_channels"],
                vector_width=VECTOR_WIDTH,
                unroll=g["unroll"],
                prefetch=0,
            )
            plan = make_plan(self.geometry, self.taps, self.num_kernels, schedule=s)
        except ValueError:
            return None
        return schedule_of(plan)

    def default(self, tuned_rules: bool = True) -> Schedule:
        """The GPU plan heuristic's tiling (it has no learned rules)."""
        return schedule_of(make_plan(self.geometry, self.taps, self.num_kernels))

    def defaults(self) -> list[Schedule]:
        return [self.default()]
