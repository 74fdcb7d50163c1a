"""Schedule rules learned from tuning: a better default, and reuse of tuned shape classes.

``improved_default`` is the rule to adopt in ``codegen.schedule.default_schedule``. Measured
on the AVX-512 host (docs/tuning.md; each gain an interleaved A/B median, repeated twice):

* Tiny outputs (the whole output fits one register block of at most 8 accumulators, e.g. the
  7x7 maps of ResNet-50's last stage): no channel blocking. With so few accumulators a channel
  block holds less than one kernel per pattern loop, so loop setup and the partial sums going
  through the output cost more than the L1 reuse gains. Stride 1: prefetch on (1.37-1.40x on
  512->512 7x7); stride 2: filters outermost, no prefetch (1.04-1.05x on 512->512 14x14 s2;
  prefetch there was 0.87x).
* Stride 2: half the rows per register block. Neighbouring output rows share only one input
  row instead of two, so tall blocks buy little reuse, while their input rows (x2 for the
  stride, x2 phase planes) crowd L1 (1.20-1.22x on 128->128 56x56 s2, 1.03-1.13x on 256->256
  28x28 s2).
* Stride 1: a row block one row shorter when it then divides the output height (no short
  remainder block): 8 -> 7 rows at 28x28. Marginal: +2 to +3 % on average over five
  measurements of four layers, single measurements from -7 % to +9 %; drop it if in doubt.

Observed but not a rule: no channel blocking (with prefetch) gained 10-15 % on 512->512 28x28
in every run, but lost 15 % on 256->256 56x56, gained 3-8 % on 256->512 28x28 and lost 5 % on
128->128 28x28; no criterion found yet separates these, so the tuner handles them per layer.

``learned_schedule`` is how a database helps layers it has no exact entry for: the nearest
tuned layer of the same shape class (output size, stride, dilation, target, CPU) lends its
schedule, when tuning found that class's default lacking (a gain of at least 3 %); channel
counts, connectivity and library only move the optimum a little (the block shape follows the
output size).
"""

from __future__ import annotations

import dataclasses
import math

from ..codegen.schedule import TARGETS, Schedule, default_schedule
from .signature import LayerSignature
from .space import ScheduleSpace

__all__ = ["improved_default", "learned_schedule"]

LEARNED_MIN_GAIN = 1.03


def improved_default(sig: LayerSignature) -> Schedule | None:
    """The default schedule with the rules above applied; None where they change nothing."""
    if sig.target != "host":
        return None  # measured on the host only
    d = default_schedule(sig.out_height, sig.out_width, sig.target, sig.in_channels)
    vectors = min(d.tile_cols // d.vector_width, -(-sig.out_width // d.vector_width))
    strided = sig.stride[0] > 1
    if sig.out_height <= d.tile_rows and d.tile_rows * vectors <= 8:
        if strided:
            s = dataclasses.replace(d, tile_channels=0, prefetch=0, loop_order="filters_outer")
        else:
            s = dataclasses.replace(d, tile_channels=0, prefetch=TARGETS[sig.target].prefetch)
    elif strided:
        s = dataclasses.replace(d, tile_rows=max(1, -(-d.tile_rows // 2)))
    elif (
        d.tile_rows > 1 and sig.out_height % d.tile_rows and sig.out_height % (d.tile_rows - 1) == 0
    ):
        s = dataclasses.replace(d, tile_rows=d.tile_rows - 1)
    else:
        s = d
    return None if s == d else s


def _distance(a: LayerSignature, b: LayerSignature) -> float:
    d = abs(math.log(a.in_channels / b.in_channels)) + abs(
        math.log(a.out_channels / b.out_channels)
    )
    if a.connectivity and b.connectivity:
        d += 0.5 * abs(math.log(a.connectivity / b.connectivity))
    if a.library != b.library:
        d += 0.25
    return d


def learned_schedule(db, sig: LayerSignature) -> Schedule | None:
    """The schedule of the nearest tuned layer of ``sig``'s shape class, adapted; or None."""
    if db is None:
        return None
    same_class = [
        r
        for r in db.results(target=sig.target, cpu=sig.cpu)
        if (r.signature.out_height, r.signature.out_width) == (sig.out_height, sig.out_width)
        and (r.signature.stride, r.signature.dilation) == (sig.stride, sig.dilation)
        and r.signature.key() != sig.key()
        and r.speedup >= LEARNED_MIN_GAIN
    ]
    if not same_class:
        return None
    nearest = min(same_class, key=lambda r: _distance(r.signature, sig))
    space = ScheduleSpace(sig.out_height, sig.out_width, sig.in_channels, sig.target)
    s = nearest.schedule
    if s.tile_channels >= sig.in_channels:
        s = dataclasses.replace(s, tile_channels=0)
    return space.canonical(s)
