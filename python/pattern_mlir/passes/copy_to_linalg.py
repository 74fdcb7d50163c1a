"""pattern-copy-to-linalg: memref.copy -> linalg.copy.

Bufferization writes copies as `memref.copy`, whose LLVM lowering calls the
`memrefCopy` function of MLIR's C runner library for strided operands; no such
library exists for the aarch64 target. As a linalg.copy the copy becomes plain
loops on every target.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import linalg

from .conv_info import collect_ops
from .registry import register_pass


@register_pass("pattern-copy-to-linalg", "Rewrite memref.copy as linalg.copy (no runtime library)")
def run(module: ir.Operation, options: dict[str, str]) -> None:
    for op in collect_ops(module, "memref.copy"):
        with ir.InsertionPoint(op), op.location:
            linalg.copy(op.operands[0], outs=[op.operands[1]])
        op.erase()
