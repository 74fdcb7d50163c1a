"""Compile options and targets."""

from __future__ import annotations

import os
from dataclasses import dataclass

TARGETS = ("host", "arm64-neon", "vulkan-adreno")


@dataclass(frozen=True)
class CompileOptions:
    """How `pattern_mlir.compile` builds an executable.

    num_threads: CPU threads over balanced filter groups of every pattern conv
        (and the output-channel ranges of dense kernels), on both CPU targets:
        MLIR's async runtime on the host, its pthread implementation
        (runtime/c/async_runtime.c) linked into arm64 libraries; 0 means one
        group per available core (`os.cpu_count()`).
    patterns: raise 3x3 convs whose weights follow a pattern library to the
        pattern dialect; False compiles every conv densely (a baseline).
    tuning_db: the tuning database consulted for per-layer schedules (a
        `#pattern.schedule` written into MLIR given to `compile_str` wins); None
        means the default one (`pattern-mlir tune` writes it:
        $PATTERN_MLIR_TUNING_DB, else ~/.cache/pattern-mlir/tuning.sqlite) when
        that file exists, "" means none.
    save_temps: a directory where every stage's IR (and, for arm64, the LLVM IR,
        assembly and shared library) is written; None keeps them in memory.
    opt_level: LLVM optimisation level of the generated code (the JIT's on
        host, `opt -passes=default<On>` before llc on arm64).
    cpu: the arm64 CPU to tune instructions for (llc -mcpu).
    """

    num_threads: int = 0
    patterns: bool = True
    tuning_db: str | None = None
    save_temps: str | None = None
    opt_level: int = 3
    cpu: str = "cortex-a76"

    def __post_init__(self) -> None:
        if self.num_threads < 0:
            raise ValueError(f"num_threads must be >= 0, got {self.num_threads}")
        if not 0 <= self.opt_level <= 3:
            raise ValueError(f"opt_level must be in 0..3, got {self.opt_level}")

    @property
    def tuning_db_path(self) -> str | None:
        """The database compile() reads, or None."""
        if self.tuning_db is not None:
            return self.tuning_db or None
        from ..tuning.database import default_db_path

        path = default_db_path()
        return str(path) if path.exists() else None

    @property
    def threads(self) -> int:
        return self.num_threads or os.cpu_count() or 1


def check_target(target: str) -> str:
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; known targets: {', '.join(TARGETS)}")
    return target
