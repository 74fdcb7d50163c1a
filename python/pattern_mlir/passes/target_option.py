"""The `target=` and `threads=` options of the CPU passes, checked and resolved."""

from __future__ import annotations

from dataclasses import dataclass

from ..codegen.schedule import cpu_target
from ..target import CPU_TARGETS, Target
from .registry import ModulePass


def pass_target(name: str, pass_name: str) -> Target:
    """The CPU target called `name`; a ValueError naming the pass for an unknown name."""
    if name not in CPU_TARGETS:
        raise ValueError(f"{pass_name}: unknown target {name!r}; known: {', '.join(CPU_TARGETS)}")
    return cpu_target(name)


def check_threads(threads: int, pass_name: str) -> None:
    """A ValueError naming the pass unless `threads` is a count >= 1."""
    if threads < 1:
        raise ValueError(f"{pass_name}: option threads={threads} is not a count >= 1")


@dataclass(frozen=True)
class CpuPass(ModulePass):
    """A pass that writes code for one CPU target (`target`, default: this machine) and a
    number of threads (`threads`)."""

    target: str = "host"
    threads: int = 1

    def __post_init__(self) -> None:
        pass_target(self.target, self.name)
        check_threads(self.threads, self.name)

    def cpu_target(self) -> Target:
        return pass_target(self.target, self.name)
