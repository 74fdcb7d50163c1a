"""LLVM IR text -> a position-independent shared library, for ARM64 or this machine.

Both CPU targets build the same way: ``opt -passes=default<On>`` (the mid-level pipeline the
host ``ExecutionEngine(opt_level=3)`` applies, with the same options, ``llvm_options.FLAGS``, so
JIT and library see equally optimised IR;
``opt_level=None`` skips it), ``llc -O3`` for the target's CPU and features (`pattern_mlir.target`), then the target's C
compiler links ``lib<name>.so`` with ``-z defs``, so that a symbol no library provides (e.g.
MLIR's ``memrefCopy`` runtime helper) fails at link time rather than at load. IR that calls
MLIR's async runtime (threaded code) is linked with ``ASYNC_RUNTIME_SOURCE``, our pthread
implementation of that ABI; ``async_runtime_library`` is the same file built for the host JIT.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..runtime.toolchain import run_tool
from ..target import Target
from .llvm_options import FLAGS as LLVM_FLAGS

__all__ = ["ASYNC_RUNTIME_SOURCE", "LibraryArtifacts", "async_runtime_library", "compile_library"]

ASYNC_RUNTIME_SOURCE = Path(__file__).parents[1] / "runtime" / "c" / "async_runtime.c"


_RUNTIME_CFLAGS = ("-O2", "-fPIC", "-std=c11", "-Wall", "-Werror")


@dataclass(frozen=True)
class LibraryArtifacts:
    workdir: Path
    ll_path: Path
    obj_path: Path
    asm_path: Path | None
    so_path: Path


def compile_library(
    llvm_ir: str,
    workdir: str | os.PathLike,
    target: Target,
    *,
    name: str = "kernel",
    opt_level: int | None = 3,
    link_args: Sequence[str | os.PathLike] = (),
    asm: bool = False,
) -> LibraryArtifacts:
    """Builds ``<name>.o`` (and ``<name>.s`` with ``asm``) and ``lib<name>.so`` in ``workdir``."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"name {name!r}: use letters, digits, '_', '.', '-' only")
    out = Path(workdir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    ll_path = out / f"{name}.ll"
    ll_path.write_text(llvm_ir)
    flags = [f"-mtriple={target.triple}", f"-mcpu={target.cpu}"]
    if target.features:
        flags.append(f"-mattr={target.mattr}")
    llc_input = ll_path
    if opt_level is not None:
        llc_input = out / f"{name}.opt.ll"
        run_tool(
            "opt",
            [*flags, *LLVM_FLAGS, f"-passes=default<O{opt_level}>", "-S", ll_path, "-o", llc_input],
        )
    llc = [*flags, "-O3", "-relocation-model=pic", llc_input]
    obj_path = out / f"{name}.o"
    run_tool("llc", [*llc, "-filetype=obj", "-o", obj_path])
    asm_path = None
    if asm:
        asm_path = out / f"{name}.s"
        run_tool("llc", [*llc, "-filetype=asm", "-o", asm_path])
    if "@mlirAsyncRuntime" in llvm_ir:
        runtime_obj = out / "async_runtime.o"
        run_tool(target.cc, [*_RUNTIME_CFLAGS, "-c", ASYNC_RUNTIME_SOURCE, "-o", runtime_obj])
        link_args = (*link_args, runtime_obj, "-lpthread")
    so_path = out / f"lib{name}.so"
    # -Bsymbolic: the library's calls bind to its own copy of the async runtime even in a
    # process where the JIT already loaded another (or MLIR's), so one library's tasks and
    # groups never cross two runtimes.
    run_tool(
        target.cc,
        [
            "-shared",
            "-o",
            so_path,
            obj_path,
            f"-Wl,-soname,{so_path.name}",
            "-Wl,-z,defs",
            "-Wl,-Bsymbolic",
            *link_args,
            "-lm",
        ],
    )
    return LibraryArtifacts(out, ll_path, obj_path, asm_path, so_path)


def async_runtime_library() -> Path:
    """``ASYNC_RUNTIME_SOURCE`` as a host shared library, for the JIT of threaded code.

    Built by CMake with the package (python/CMakeLists.txt) and installed beside the native
    extension. Not MLIR's libmlir_async_runtime.so: its ``__mlir_execution_engine_destroy``
    drops the process-wide runtime when the first engine that loaded it dies, and the next
    engine's threaded code then crashes in ``mlirAsyncRuntimeCreateGroup``. Ours has no such
    hooks, lives as long as the process, and is the runtime the saved libraries link.
    """
    from .. import _mlir_libs

    for directory in _mlir_libs.__path__:
        library = Path(directory) / "libpattern_async_runtime.so"
        if library.exists():
            return library
    raise FileNotFoundError(
        "libpattern_async_runtime.so is not installed with pattern_mlir; run `make build`"
    )
