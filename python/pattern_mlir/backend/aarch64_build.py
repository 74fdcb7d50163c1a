"""ARM64 builds for tests and analysis: LLVM IR -> object, assembly and shared object, and
reading the assembly (which functions use NEON ``fmla``).

Models are built by backend/library_build.py; this is the lower-level entry the runtime
tests and llvm-mca use on hand-written kernels. Running the result under qemu is the
runtime's job (runtime/aarch64.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..target.registry import ARM64_NEON
from .shared_library import compile_library

__all__ = ["Aarch64Artifacts", "compile_aarch64", "count_fmla", "function_asm", "has_fmla"]

DEFAULT_CPU = ARM64_NEON.cpu
TRIPLE = ARM64_NEON.triple


# --------------------------------------------------------------------------------------------
# Compilation: LLVM IR -> object, assembly, shared object
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Aarch64Artifacts:
    """Files produced by :func:`compile_aarch64`; ``asm`` reads the assembly text."""

    workdir: Path
    ll_path: Path
    obj_path: Path
    asm_path: Path
    so_path: Path
    cpu: str

    @property
    def asm(self) -> str:
        return self.asm_path.read_text()


def compile_aarch64(
    llvm_ir: str,
    workdir: str | os.PathLike,
    cpu: str = DEFAULT_CPU,
    *,
    name: str = "kernel",
    features: str = "+neon",
    opt_level: int | None = 3,
    link_args: Sequence[str] = (),
) -> Aarch64Artifacts:
    """Compile LLVM IR text for ARM64 into ``workdir``: ``<name>.o``, ``<name>.s``, ``lib<name>.so``.

    See :func:`pattern_mlir.backend.shared_library.compile_library` (opt, llc at -O3 for
    ``-mcpu=cpu -mattr=features``, position independent, linked with ``-z defs``, MLIR's async
    runtime ABI from ``ASYNC_RUNTIME_SOURCE`` when the IR calls it).
    """
    target = replace(
        ARM64_NEON, cpu=cpu, tune_cpu=cpu, features=tuple(features.split(",")) if features else ()
    )
    lib = compile_library(
        llvm_ir, workdir, target, name=name, opt_level=opt_level, link_args=link_args, asm=True
    )
    return Aarch64Artifacts(lib.workdir, lib.ll_path, lib.obj_path, lib.asm_path, lib.so_path, cpu)


# --------------------------------------------------------------------------------------------
# Assembly helpers
# --------------------------------------------------------------------------------------------


def function_asm(asm: str, name: str) -> str:
    """The assembly of function ``name``: from its label to its ``.Lfunc_end`` marker."""
    match = re.search(
        rf"^{re.escape(name)}:.*?$(.*?)^\.Lfunc_end\d+:", asm, re.MULTILINE | re.DOTALL
    )
    if match is None:
        found = re.findall(r"^\s*\.type\s+([^,\s]+),\s*@function", asm, re.MULTILINE)
        raise KeyError(f"function {name!r} not in the assembly (functions: {', '.join(found)})")
    return match.group(1)


def count_fmla(asm: str, arrangement: str = "4s") -> int:
    """Number of vector ``fmla`` instructions with the given arrangement (``4s`` = 4 x f32).

    Counts both forms: ``fmla v0.4s, v1.4s, v2.4s`` and by-element ``fmla v0.4s, v1.4s, v2.s[1]``.
    """
    return len(re.findall(rf"^\s*fmla\s+v\d+\.{re.escape(arrangement)}\b", asm, re.MULTILINE))


def has_fmla(asm: str, arrangement: str = "4s") -> bool:
    """Whether the assembly uses a NEON ``fmla`` on ``arrangement`` lanes (vectorised FMA)."""
    return count_fmla(asm, arrangement) > 0
