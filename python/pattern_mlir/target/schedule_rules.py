"""Which schedule rules learned from tuning hold on a CPU, as fields of its target record.

Measured schedules differ by CPU more than by anything the heuristic can compute from a layer's
shape (docs/tuning.md): the channel block that gains on the Intel Xeon hosts loses on AMD Zen 4
and Zen 5. The rules themselves are in `codegen/schedule.py` (`_tuned_rules`), their
measurements in docs/design.md, section 10; this module only says which apply to a CPU, so that
the schedule code reads the target and never the vendor. The named x86-64 levels carry the rules
of the CPU that builds them when it runs them (they are that ISA, tuned for this machine), and
the generic (Intel-measured) ones elsewhere.
"""

from __future__ import annotations

from dataclasses import replace

from .description import Target
from .host_cpu import AMD, AMD_ZEN3_ZEN4

__all__ = ["with_schedule_rules"]


def with_schedule_rules(target: Target, vendor: str, family: int = 0) -> Target:
    """`target` with the tuned-rule fields of a CPU of `vendor` and x86 `family` (0: unknown)."""
    if vendor != AMD:
        return replace(
            target,
            stride1_channel_blocks=True,
            stride1_row_align=16,
            stride2_by_channel=False,
            tiny_stride2_row_align=16,
            split_two_vector_rows=False,
        )
    # AMD Zen 3 / 4 (family 25) run 512-bit FMAs as two 256-bit halves.
    return replace(
        target,
        stride1_channel_blocks=False,
        stride1_row_align=8,
        stride2_by_channel=True,
        tiny_stride2_row_align=4,
        split_two_vector_rows=family == AMD_ZEN3_ZEN4 and target.vector_bits == 512,
    )
