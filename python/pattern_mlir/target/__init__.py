"""Compile targets: one description per machine, everything else derives from it."""

from .description import Target
from .llvm_attributes import stamp_target
from .registry import (
    CPU_TARGETS,
    TARGET_NAMES,
    UnsupportedHostError,
    host_isa_level,
    host_target,
    require_runnable,
    resolve_target,
    runs_on_host,
)

__all__ = [
    "CPU_TARGETS",
    "TARGET_NAMES",
    "Target",
    "UnsupportedHostError",
    "host_isa_level",
    "host_target",
    "require_runnable",
    "resolve_target",
    "runs_on_host",
    "stamp_target",
]
