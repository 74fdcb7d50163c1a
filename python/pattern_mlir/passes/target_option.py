"""The `target=` option of the CPU passes: a target name, resolved to its description."""

from __future__ import annotations

from ..codegen.schedule import cpu_target
from ..target import CPU_TARGETS, Target


def pass_target(options: dict[str, str], pass_name: str) -> Target:
    """The CPU target `options` name (default: host); a ValueError naming the pass otherwise."""
    name = options.get("target", "host")
    if name not in CPU_TARGETS:
        raise ValueError(f"{pass_name}: unknown target {name!r}; known: {', '.join(CPU_TARGETS)}")
    return cpu_target(name)
