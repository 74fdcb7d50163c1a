"""pattern-mlir: a compiler for pattern-pruned CNNs, built on MLIR.

`load` and `Executable` are the runtime: they run a saved model with numpy and ctypes alone.
Everything that compiles (`compile`, `compile_str`, `CompileOptions`) imports MLIR on first
use; from then on the `pattern` dialect is registered in every MLIR Context the upstream
`mlir` bindings create (see `register_dialect`).
"""

__version__ = "0.1.0"

from ._registration import register_dialect
from .runtime.artifact import ArtifactError
from .runtime.executable import Executable, load

_COMPILER_NAMES = ("CompileError", "CompileOptions", "compile", "compile_str")


def __getattr__(name: str):
    if name in _COMPILER_NAMES:
        from . import compiler

        return getattr(compiler, name)
    raise AttributeError(f"module 'pattern_mlir' has no attribute {name!r}")


__all__ = [
    "ArtifactError",
    "CompileError",
    "CompileOptions",
    "Executable",
    "compile",
    "compile_str",
    "load",
    "register_dialect",
]
