"""pattern-apply-tuning: write tuned schedules from a tuning database onto pattern convs.

Every `pattern.conv2d` and `pattern.packed_conv2d` whose layer signature (shapes, stride,
padding, dilation, library, connectivity, target, CPU; see `pattern_mlir.tuning.signature`)
has an entry in the database gets that entry's `#pattern.schedule`, so the stage IR shows
the schedule the kernel is generated with and a reproducer replays it. Without an exact
entry, `learned=1` (the default) uses what tuning learned for the nearest tuned layer of the
same output size and stride (`pattern_mlir.tuning.heuristics.learned_schedule`); otherwise
the op is left to the code generator's default heuristic.

Options:
  db=PATH       the tuning database (required; a missing file is an error).
  target=NAME   host | x86-64-v3 | x86-64-v4 | arm64-neon | vulkan-adreno (default host):
                which entries apply.
  cpu=TEXT      the CPU (for vulkan-adreno: the Vulkan device) the entries were measured on
                (default: this machine's CPU for the CPU targets it runs, its default Vulkan device's name for
                vulkan-adreno, the target name for arm64-neon).
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

from mlir import ir

from .conv_info import collect_ops
from .registry import register_pass

_OPS = ("pattern.conv2d", "pattern.packed_conv2d")


def schedule_attr(schedule) -> ir.Attribute:
    """A `#pattern.schedule` attribute with the fields of a codegen Schedule."""
    from ..codegen.schedule import schedule_text

    return ir.Attribute.parse(schedule_text(schedule))


def _flag(options: dict[str, str], key: str, default: bool) -> bool:
    value = options.get(key)
    if value is None:
        return default
    if value.lower() in ("1", "true", ""):
        return True
    if value.lower() in ("0", "false"):
        return False
    raise ValueError(f"pattern-apply-tuning: option {key}={value!r} is not a boolean")


def _measured_on(target: str) -> str:
    """What the entries that apply here were measured on, by default."""
    from ..tuning.gpu_measure import vulkan_device_name
    from ..tuning.layers import GPU_TARGET
    from ..tuning.signature import cpu_model

    if target == GPU_TARGET:
        return vulkan_device_name()
    from ..target import resolve_target, runs_on_host

    # Entries for a CPU target this machine runs were measured on this CPU.
    return cpu_model() if runs_on_host(resolve_target(target)) else target


@register_pass(
    "pattern-apply-tuning",
    "Set the schedule of pattern convs from a tuning database (db=PATH)",
    options=("db", "target", "cpu", "threads", "learned", "overwrite"),
)
def run(module: ir.Operation, options: dict[str, str]) -> None:
    # Imported here: registering the pass must not load the tuner's dependencies.
    from ..target import CPU_TARGETS
    from ..tuning.database import TuningDB
    from ..tuning.heuristics import learned_schedule
    from ..tuning.layers import GPU_TARGET, signature_of_op

    path = options.get("db")
    if not path:
        raise ValueError("pattern-apply-tuning: option db=PATH is required")
    target = options.get("target", "host")
    if target not in (*CPU_TARGETS, GPU_TARGET):
        raise ValueError(
            f"pattern-apply-tuning: unknown target {target!r}; "
            f"known: {', '.join((*CPU_TARGETS, GPU_TARGET))}"
        )
    threads = options.get("threads", "1")
    if not threads.isdigit() or int(threads) < 1:
        raise ValueError(f"pattern-apply-tuning: option threads={threads!r} is not a count >= 1")
    budgets = list(dict.fromkeys([int(threads), 1]))
    learned = _flag(options, "learned", True)
    overwrite = _flag(options, "overwrite", False)
    if not os.path.isfile(path):
        # A ValueError, as for every pass failure: pattern-opt and compile() report it.
        raise ValueError(f"pattern-apply-tuning: tuning database {path} does not exist")
    ops = [op for name in _OPS for op in collect_ops(module, name)]
    if not ops:
        return
    # Only now: naming the Vulkan device means opening it.
    cpu = options.get("cpu") or _measured_on(target)
    with TuningDB(path, create=False) as db:
        for op in ops:
            if "schedule" in op.attributes and not overwrite:
                continue
            base = signature_of_op(op, target, cpu)
            sigs = [dataclasses.replace(base, threads=n) for n in budgets]
            schedule = next((e.schedule for e in map(db.get, sigs) if e is not None), None)
            if schedule is None and learned:
                schedule = next(filter(None, (learned_schedule(db, sig) for sig in sigs)), None)
            if schedule is not None:
                with op.context:
                    op.attributes["schedule"] = schedule_attr(schedule)
