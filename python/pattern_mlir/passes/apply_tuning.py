"""pattern-apply-tuning: write tuned schedules from a tuning database onto pattern convs.

Every `pattern.conv2d` and `pattern.packed_conv2d` whose layer signature (shapes, stride,
padding, dilation, library, connectivity, target, CPU; see `pattern_mlir.tuning_db.signature`)
has an entry in the database gets that entry's `#pattern.schedule`, so the stage IR shows
the schedule the kernel is generated with and a reproducer replays it. Without an exact
entry, `learned=1` (the default) uses what tuning learned for the nearest tuned layer of the
same output size and stride (`pattern_mlir.tuning_db.learned.learned_schedule`); otherwise
the op is left to the code generator's default heuristic.

Options:
  db=PATH       the tuning database (required; a missing file is an error).
  target=NAME   host | x86-64-v3 | x86-64-v4 | arm64-neon | vulkan-adreno (default host):
                which entries apply.
  cpu=TEXT      the CPU (for vulkan-adreno: the Vulkan device) the entries were measured on
                (default: this machine's CPU for the CPU targets it runs, the target name for
                arm64-neon; required for vulkan-adreno, where compile() passes the name of the
                device it runs on: a pass never opens a device).
  threads=N     the executable's thread count (default 1): entries tuned for N threads
                first, then one-thread entries (their loop nest suits each of N threads;
                their schedules leave the filter groups to N).
  learned=0|1   fall back to the nearest tuned shape class (default 1).
  overwrite=0|1 replace a schedule the op already carries (default 0: an explicit schedule,
                written by hand or by a per-layer override, wins over the database).

Run it after `pattern-raise-conv` (or after `pattern-pack-fkw`, which copies the schedule)
and before `pattern-lower-to-vector`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import ClassVar

from mlir import ir

from .registry import ModulePass, register_pass
from .utils.conv_info import collect_ops

_OPS = ("pattern.conv2d", "pattern.packed_conv2d")


def schedule_attr(schedule) -> ir.Attribute:
    """A `#pattern.schedule` attribute with the fields of a codegen Schedule."""
    from ..codegen.schedule import schedule_text

    return ir.Attribute.parse(schedule_text(schedule))


def _measured_on(target: str) -> str:
    """What the entries that apply to a CPU target were measured on, by default."""
    from ..target import resolve_target, runs_on_host
    from ..tuning_db.signature import cpu_model

    # Entries for a CPU target this machine runs were measured on this CPU.
    return cpu_model() if runs_on_host(resolve_target(target)) else target


@register_pass
@dataclass(frozen=True)
class ApplyTuning(ModulePass):
    """Set the schedule of pattern convs from a tuning database (db=PATH)."""

    name: ClassVar[str] = "pattern-apply-tuning"
    db: str = ""
    target: str = "host"
    cpu: str = ""
    threads: int = 1
    learned: bool = True
    overwrite: bool = False

    def __post_init__(self) -> None:
        from ..target import CPU_TARGETS
        from ..tuning_db.signature import GPU_TARGET
        from .target_option import check_threads

        if not self.db:
            raise ValueError(f"{self.name}: option db=PATH is required")
        if self.target not in (*CPU_TARGETS, GPU_TARGET):
            known = ", ".join((*CPU_TARGETS, GPU_TARGET))
            raise ValueError(f"{self.name}: unknown target {self.target!r}; known: {known}")
        check_threads(self.threads, self.name)
        if self.target == GPU_TARGET and not self.cpu:
            raise ValueError(
                f"{self.name}: target={GPU_TARGET} needs cpu=NAME, the Vulkan device the "
                "entries were measured on (a pass does not open a device to ask)"
            )

    def apply(self, module: ir.Operation) -> None:
        # Imported here: registering the pass must not load the database's dependencies.
        from ..tuning_db.database import TuningDB
        from ..tuning_db.learned import learned_schedule
        from ..tuning_db.signature import signature_of_op

        path, target = self.db, self.target
        budgets = list(dict.fromkeys([self.threads, 1]))
        if not os.path.isfile(path):
            # A ValueError, as for every pass failure: pattern-opt and compile() report it.
            raise ValueError(f"{self.name}: tuning database {path} does not exist")
        ops = [op for name in _OPS for op in collect_ops(module, name)]
        if not ops:
            return
        cpu = self.cpu or _measured_on(target)
        with TuningDB(path, create=False) as db:
            for op in ops:
                if "schedule" in op.attributes and not self.overwrite:
                    continue
                base = signature_of_op(op, target, cpu)
                sigs = [dataclasses.replace(base, threads=n) for n in budgets]
                schedule = next((e.schedule for e in map(db.get, sigs) if e is not None), None)
                if schedule is None and self.learned:
                    schedule = next(filter(None, (learned_schedule(db, sig) for sig in sigs)), None)
                if schedule is not None:
                    with op.context:
                        op.attributes["schedule"] = schedule_attr(schedule)
