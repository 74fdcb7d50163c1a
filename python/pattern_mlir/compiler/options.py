"""Compile options and targets."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..target import TARGET_NAMES as TARGETS  # noqa: F401  (re-exported: compiler.TARGETS, cli)


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
        the x86 targets, `opt -passes=default<On>` before llc on arm64).
    cpu: the arm64 CPU to generate and tune instructions for (llc -mcpu).
    timeout_s: wall-clock seconds the compiler's stages may take; past them the
        stage process is stopped and compile() raises CompileError.
    memory_limit_gb: resident memory the compiler's stages may use, in GiB; None
        means half of this machine's memory, at most 8 GiB. Past it the stage
        process is stopped and compile() raises CompileError.
    progress: print each step of the compilation to stderr as it starts; None
        means when stderr is a terminal.
    """

    num_threads: int = 0
    patterns: bool = True
    tuning_db: str | None = None
    save_temps: str | None = None
    opt_level: int = 3
    cpu: str = "cortex-a76"
    timeout_s: float = 900.0
    memory_limit_gb: float | None = None
    progress: bool | None = None

    def __post_init__(self) -> None:
        if self.num_threads < 0:
            raise ValueError(f"num_threads must be >= 0, got {self.num_threads}")
        if not 0 <= self.opt_level <= 3:
            raise ValueError(f"opt_level must be in 0..3, got {self.opt_level}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")
        if self.memory_limit_gb is not None and self.memory_limit_gb <= 0:
            raise ValueError(f"memory_limit_gb must be > 0, got {self.memory_limit_gb}")

    @property
    def tuning_db_path(self) -> str | None:
        """The database compile() reads, or None."""
        if self.tuning_db is not None:
            return self.tuning_db or None
        from ..tuning_db.database import default_db_path

        path = default_db_path()
        return str(path) if path.exists() else None

    @property
    def shows_progress(self) -> bool:
        if self.progress is not None:
            return self.progress
        import sys

        return sys.stderr.isatty()

    @property
    def memory_limit_bytes(self) -> int:
        if self.memory_limit_gb is not None:
            return int(self.memory_limit_gb * 2**30)
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return min(physical // 2, 8 << 30)

    @property
    def threads(self) -> int:
        return self.num_threads or os.cpu_count() or 1


def check_target(target: str) -> str:
    """`target` if it is one compile() builds for here; a ValueError that says why not."""
    from ..target import require_runnable, resolve_target

    description = resolve_target(target)  # unknown names and unsupported hosts raise here
    if description.triple.startswith("x86_64"):
        require_runnable(description)
    return target
