"""Schedule rules learned from tuning: the default's rules, and reuse of tuned shape classes.

What tuning VGG-16 and ResNet-50 taught the default heuristic is now part of it
(``codegen.schedule.default_schedule``, ``_tuned_rules``; measured in docs/tuning.md).
``improved_default`` gives that schedule where it differs from the heuristic alone, for the
tuning report's baseline.

Observed but not a rule: no channel blocking (with prefetch) gained on 512->512 28x28 in
every run, but lost on 256->256 56x56, gained on 256->512 28x28 and lost on 128->128 28x28
(measured: docs/design.md, section 10); no criterion found yet separates these, so the tuner
handles them per layer.

``learned_schedule`` is how a database helps layers it has no exact entry for: the nearest
tuned layer of the same shape class (output size, stride, dilation, target, CPU, threads) lends its
schedule, when tuning found that class's default lacking (a gain of at least 3 %); channel
counts, connectivity and library only move the optimum a little (the block shape follows the
output size).
"""

from __future__ import annotations

import dataclasses
import math

from ..codegen.schedule import Schedule, default_schedule
from ..target import CPU_TARGETS
from .signature import LayerSignature
from .space import ScheduleSpace

__all__ = ["improved_default", "learned_schedule"]

LEARNED_MIN_GAIN = 1.03


def improved_default(sig: LayerSignature) -> Schedule | None:
    """The default schedule (with the tuned rules) where it differs from the heuristic alone."""
    args = (sig.out_height, sig.out_width, sig.target, sig.in_channels, sig.stride[0])
    rules = default_schedule(*args)
    return None if rules == default_schedule(*args, tuned_rules=False) else rules


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
    if db is None or sig.target not in CPU_TARGETS:  # the GPU's tilings have no shape classes yet
        return None
    same_class = [
        r
        for r in db.results(target=sig.target, cpu=sig.cpu)
        if (r.signature.out_height, r.signature.out_width) == (sig.out_height, sig.out_width)
        and (r.signature.stride, r.signature.dilation) == (sig.stride, sig.dilation)
        and r.signature.threads == sig.threads
        and r.signature.key() != sig.key()
        and r.speedup >= LEARNED_MIN_GAIN
    ]
    if not same_class:
        return None
    nearest = min(same_class, key=lambda r: _distance(r.signature, sig))
    space = ScheduleSpace.of(sig)
    s = nearest.schedule
    if s.tile_channels >= sig.in_channels:
        s = dataclasses.replace(s, tile_channels=0)
    return space.canonical(s)
