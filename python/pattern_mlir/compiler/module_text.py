"""Print a module without its dialect_resources section, for either MLIR copy.

A module print renders every `dense_resource` blob as hex, even when it then
elides it (`large_resource_limit`): seconds for VGG-16's weights (measured:
docs/design.md, section 10). Printing the top-level ops one by one (local scope)
never reaches the resources section, so it costs what the ops cost. Without the
alias table, types and maps are spelled out inline; the text parses the same.

Callers print modules that were just verified (parsing and every stage verify),
so the printer skips its own verification: for an op holding a large constant
it scanned the data, seconds a stage for VGG-16 (measured: docs/design.md,
section 10).

Plain Python on duck-typed operations: the torch-mlir child (its own MLIR) and
the compiler (the `mlir` wheel) both use it.
"""

from __future__ import annotations

__all__ = ["module_text"]


def module_text(module, **flags) -> str:
    """`module` (verified; a Module or its operation) as text without resource blobs.

    `flags` go to each op's `get_asm`.
    """
    flags.setdefault("assume_verified", True)
    header = module.operation.get_asm(
        skip_regions=True, assume_verified=True
    ).rstrip()  # "module ... {...}"
    ops = module.operation.regions[0].blocks[0].operations
    body = "\n".join(op.operation.get_asm(use_local_scope=True, **flags) for op in ops)
    indented = "".join(f"  {line}\n" if line else "\n" for line in body.splitlines())
    return f"{header.removesuffix('{...}')}{{\n{indented}}}\n"
