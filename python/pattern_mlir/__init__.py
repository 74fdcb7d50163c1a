"""pattern-mlir: a compiler for pattern-pruned CNNs, built on MLIR.

Importing the package registers the `pattern` dialect in every MLIR Context the
upstream `mlir` bindings create, and makes `Operation.opview` return the
generated `pattern` op classes.
"""

__version__ = "0.1.0"

from ._registration import register_dialect as _register_dialect

_register_dialect()

from .compiler import CompileError, CompileOptions, Executable, compile, compile_str, load  # noqa: E402

__all__ = ["CompileError", "CompileOptions", "Executable", "compile", "compile_str", "load"]
