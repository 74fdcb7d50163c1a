"""Makes the pattern dialect available to every Context of the `mlir` package."""

import functools


@functools.cache
def register_dialect() -> None:
    """Inserts the dialect into the bindings' global registry, once per process.

    The upstream bindings build each new Context from `get_dialect_registry()`,
    so inserting it there (rather than into one Context) makes every Context,
    including those made by `mlir.ir.Module.parse` callers, understand `pattern`.
    """
    from mlir._mlir_libs import _mlir, get_dialect_registry

    from ._mlir_libs import _patternDialects

    _patternDialects.insert_dialect(get_dialect_registry())
    _mlir.globals.append_dialect_search_prefix("pattern_mlir.dialects")
