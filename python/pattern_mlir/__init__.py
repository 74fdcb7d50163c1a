"""pattern-mlir: a compiler for pattern-pruned CNNs, built on MLIR.

Importing the package registers the `pattern` dialect in every MLIR Context the
upstream `mlir` bindings create, and makes `Operation.opview` return the
generated `pattern` op classes.
"""

from ._registration import register_dialect as _register_dialect

_register_dialect()

__all__: list[str] = []
