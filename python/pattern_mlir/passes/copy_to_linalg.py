"""pattern-copy-to-linalg: memref.copy -> linalg.copy.

Bufferization writes copies as `memref.copy`, whose LLVM lowering calls the
`memrefCopy` function of MLIR's C runner library for strided operands; no such
library exists for the aarch64 target. As a linalg.copy the copy becomes plain
loops on every target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mlir import ir
from mlir.dialects import linalg

from .registry import ModulePass, register_pass
from .utils.conv_info import collect_ops


@register_pass
@dataclass(frozen=True)
class CopyToLinalg(ModulePass):
    """Rewrite memref.copy as linalg.copy (no runtime library)."""

    name: ClassVar[str] = "pattern-copy-to-linalg"

    def apply(self, module: ir.Operation) -> None:
        for op in collect_ops(module, "memref.copy"):
            with ir.InsertionPoint(op), op.location:
                linalg.copy(op.operands[0], outs=[op.operands[1]])
            op.erase()
