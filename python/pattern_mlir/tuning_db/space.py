"""The schedule space of one layer: genes, valid points, mutation, crossover, neighbours.

A point is a ``Schedule``; genes are its fields, with the register block written as rows x
vectors so that a mutation of the vector width keeps the block's width in floats. Points are
canonical (``canonical``): tiles larger than the output are clamped, channel blocks as large
as the input are "off", ``filters_outer`` has no channel blocks. Equivalent schedules then
compare equal and are measured once.

With a thread budget above one (``threads``), the number of parallel filter groups is a gene
too, from one to the budget: a small layer may lose more to the hand-off between threads than
it gains from a second core.

Statically hopeless points are rejected before anything is compiled (a compile costs far more
than a timing run): register blocks (filters x rows x vectors) of more than
``max_accumulators`` vectors spill, and spills cost more than any gain (measured on AVX-512:
docs/design.md, section 10; the bound is three quarters of the target's vector registers,
24 of 32, 12 of 16).

The genes follow the target's description (``pattern_mlir.target``): its native vector
width, and half of it where vectors are wider than 256 bits (AMD Zen 4 runs 512-bit FMAs in
two halves, and narrower rows fit small maps); the x86 targets also vary the row alignment
and the kernel order, which only their tuning has measured.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from dataclasses import dataclass

from ..codegen.geometry import ROW_ALIGN_FLOATS
from ..codegen.schedule import KERNEL_ORDERS, LOOP_ORDERS, Schedule, cpu_target, default_schedule
from ..target import CPU_TARGETS

__all__ = ["ScheduleSpace"]

_CHANNEL_BLOCKS = (8, 16, 24, 32, 40, 48, 64, 96, 128, 192, 256)
_UNROLLS = (1, 2, 4)
_FILTER_BLOCKS = (1, 2, 4)
_PREFETCHES = (0, 1, 2, 4)
_X86_ROW_ALIGNS = (4, 8, 16)  # other targets keep the default row multiple


@dataclass(frozen=True)
class ScheduleSpace:
    """Schedules of a conv with an ``out_height x out_width`` output and ``in_channels``."""

    out_height: int
    out_width: int
    in_channels: int
    target: str = "host"
    stride: int = 1
    max_accumulators: int = 0  # 0: three quarters of the target's vector registers
    max_rows: int = 16
    max_vectors: int = 16
    vendor: str | None = None  # CPU vendor whose default heuristic seeds the search (None: host)
    family: int | None = None  # and its family (with an explicit vendor, None: unknown)
    threads: int = 1  # thread budget of the executable the schedules are for

    @staticmethod
    def of(sig) -> ScheduleSpace:
        """The space of a layer signature (``LayerSignature``): its output, channels, target,
        stride and thread budget."""
        return ScheduleSpace(
            sig.out_height,
            sig.out_width,
            sig.in_channels,
            sig.target,
            sig.stride[0],
            threads=sig.threads,
        )

    def __post_init__(self) -> None:
        if self.target not in CPU_TARGETS:
            raise ValueError(f"unknown target {self.target!r}; known: {', '.join(CPU_TARGETS)}")
        if not self.max_accumulators:
            object.__setattr__(
                self, "max_accumulators", cpu_target(self.target).vector_registers * 3 // 4
            )
        if self.threads < 1:
            raise ValueError(f"thread budget must be >= 1, got {self.threads}")

    # ----- genes -------------------------------------------------------------------------
    @property
    def vector_widths(self) -> tuple[int, ...]:
        lanes = cpu_target(self.target).lanes
        return (lanes // 2, lanes) if lanes > 8 else (lanes,)

    @property
    def _x86(self) -> bool:
        return cpu_target(self.target).triple.startswith("x86_64")

    def row_vectors(self, vector_width: int) -> int:
        """Accumulator vectors one output row needs (the remainder vector counts as one)."""
        return -(-self.out_width // vector_width)

    def genes(self) -> dict[str, tuple]:
        """Values each field may take (before canonicalisation and static rejection)."""
        vmax = max(self.row_vectors(w) for w in self.vector_widths)
        genes = {
            "vector_width": self.vector_widths,
            "tile_rows": tuple(range(1, min(self.out_height, self.max_rows) + 1)),
            "vectors": tuple(range(1, min(vmax, self.max_vectors) + 1)),
            "tile_filters": _FILTER_BLOCKS,
            "tile_channels": (0,) + tuple(c for c in _CHANNEL_BLOCKS if c < self.in_channels),
            "unroll": _UNROLLS,
            "prefetch": _PREFETCHES,
            "loop_order": LOOP_ORDERS,
            "row_align": _X86_ROW_ALIGNS if self._x86 else (ROW_ALIGN_FLOATS,),
            "kernel_order": KERNEL_ORDERS if self._x86 else KERNEL_ORDERS[:1],
        }
        if self.threads > 1:
            genes["threads"] = tuple(range(1, self.threads + 1))
        return genes

    @staticmethod
    def genome(s: Schedule) -> dict:
        g = dataclasses.asdict(s)
        g["vectors"] = s.tile_cols // s.vector_width
        del g["tile_cols"]
        return g

    def make(self, genome: dict) -> Schedule | None:
        """A canonical schedule from genes, or None if invalid or statically hopeless."""
        g = dict(genome)
        vw = g["vector_width"]
        vectors = max(1, min(g["vectors"], self.row_vectors(vw)))
        rows = max(1, min(g["tile_rows"], self.out_height))
        filters = g.get("tile_filters", 1)
        if g.get("kernel_order") == "by_channel":  # one filter, no unroll, no prefetch
            filters, g["unroll"], g["prefetch"] = 1, 1, 0
        if rows * vectors * filters > self.max_accumulators:
            return None
        tc = g["tile_channels"]
        if g["loop_order"] != "rows_outer" or tc >= self.in_channels:
            tc = 0
        try:
            return Schedule(
                tile_rows=rows,
                tile_cols=vectors * vw,
                tile_filters=filters,
                tile_channels=tc,
                vector_width=vw,
                unroll=g["unroll"],
                prefetch=g["prefetch"],
                loop_order=g["loop_order"],
                threads=self._threads(g.get("threads", 0)),
                row_align=g.get("row_align", ROW_ALIGN_FLOATS),
                kernel_order=g.get("kernel_order", KERNEL_ORDERS[0]),
            )
        except ValueError:
            return None

    def _threads(self, wanted: int) -> int:
        """Canonical thread gene: 0 ("all") with a budget of one, else 1..budget (0 = budget)."""
        if self.threads == 1:
            return 0
        return min(wanted, self.threads) if wanted else self.threads

    def canonical(self, s: Schedule) -> Schedule | None:
        return self.make(self.genome(s))

    # ----- points ------------------------------------------------------------------------
    def default(self, tuned_rules: bool = True) -> Schedule:
        """The default heuristic's schedule (``tuned_rules=False``: without the learned rules)."""
        d = default_schedule(
            self.out_height,
            self.out_width,
            self.target,
            self.in_channels,
            self.stride,
            tuned_rules=tuned_rules,
            vendor=self.vendor,
            family=self.family,
        )
        return self.canonical(d) or d

    def defaults(self) -> list[Schedule]:
        """The default, then the heuristic without learned rules where that differs: seeding
        the search with both means a rule that is wrong on this CPU costs nothing (filters
        outermost, a gain at 512->512 14x14 s2 on Zen 5, is a loss on Zen 4; measured:
        docs/design.md, section 10)."""
        return list(dict.fromkeys([self.default(), self.default(tuned_rules=False)]))

    def all_points(self) -> list[Schedule]:
        """Every valid canonical point (for small spaces and tests)."""
        genes = self.genes()
        names = list(genes)
        seen: dict[Schedule, None] = {}
        for values in itertools.product(*genes.values()):
            s = self.make(dict(zip(names, values)))
            if s is not None:
                seen.setdefault(s, None)
        return list(seen)

    def random(self, rng: random.Random, tries: int = 200) -> Schedule:
        genes = self.genes()
        for _ in range(tries):
            s = self.make({k: rng.choice(v) for k, v in genes.items()})
            if s is not None:
                return s
        return self.default()

    def mutate(self, s: Schedule, rng: random.Random, fields: int = 1) -> Schedule | None:
        """Change ``fields`` genes: to a neighbouring value mostly, to any value sometimes."""
        genes = self.genes()
        g = self.genome(s)
        for name in rng.sample(sorted(genes), k=min(fields, len(genes))):
            values = genes[name]
            if len(values) < 2:
                continue
            if rng.random() < 0.7 and g[name] in values:
                i = values.index(g[name]) + rng.choice((-1, 1))
                g[name] = values[max(0, min(len(values) - 1, i))]
            else:
                g[name] = rng.choice(values)
            if name == "vector_width":
                g = self._rewidth(g, s.tile_cols)
        return self.make(g)

    def _rewidth(self, g: dict, tile_cols: int) -> dict:
        """Genes after a vector width change: the block keeps its width in floats, and its rows
        shrink to the accumulator budget. Without the second step halving the width doubles
        the accumulators and the point is rejected, so a narrower vector with fewer rows was
        two mutations away (on Zen 4, 4-5 x 32/8 beats 7 x 32/16 at 28x28; measured:
        docs/design.md, section 10)."""
        g = dict(g, vectors=max(1, tile_cols // g["vector_width"]))
        per_row = min(g["vectors"], self.row_vectors(g["vector_width"])) * g.get("tile_filters", 1)
        g["tile_rows"] = max(1, min(g["tile_rows"], self.max_accumulators // per_row))
        return g

    def crossover(self, a: Schedule, b: Schedule, rng: random.Random) -> Schedule | None:
        """Uniform crossover; the register block (rows, vectors, width) is inherited whole."""
        ga, gb = self.genome(a), self.genome(b)
        child = {}
        block = ("tile_rows", "vectors", "vector_width")
        src = ga if rng.random() < 0.5 else gb
        for k in block:
            child[k] = src[k]
        for k in ga:
            if k not in block:
                child[k] = (ga if rng.random() < 0.5 else gb)[k]
        return self.make(child)

    def neighbours(self, s: Schedule) -> list[Schedule]:
        """Points one gene step away (both directions), plus the other loop order."""
        genes = self.genes()
        g = self.genome(s)
        out: dict[Schedule, None] = {}
        for name, values in genes.items():
            if g[name] not in values:
                continue
            i = values.index(g[name])
            for j in (i - 1, i + 1):
                if 0 <= j < len(values):
                    h = dict(g, **{name: values[j]})
                    if name == "vector_width":
                        h = self._rewidth(h, s.tile_cols)
                    n = self.make(h)
                    if n is not None and n != s:
                        out.setdefault(n, None)
        return list(out)
