"""Helpers shared by the ARM64 runtime tests (a uniquely named module, unlike conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pattern_mlir.runtime.toolchain import ToolchainError, aarch64_sysroot, find_tool

KERNELS = Path(__file__).with_name("kernels.mlir")

# A minimal upstream lowering to the LLVM dialect (the compiler owns the real one).
LLVM_PIPELINE = (
    "builtin.module(convert-scf-to-cf,convert-vector-to-llvm,expand-strided-metadata,"
    "finalize-memref-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,"
    "convert-func-to-llvm,reconcile-unrealized-casts)"
)


def lower_to_llvm_dialect(module_text: str) -> str:
    """Lower upstream-dialect MLIR to the LLVM dialect with the Python PassManager."""
    from mlir import ir
    from mlir.passmanager import PassManager

    with ir.Context():
        module = ir.Module.parse(module_text)
        PassManager.parse(LLVM_PIPELINE).run(module.operation)
        return str(module)


def _missing_cross_tools() -> str | None:
    try:
        for tool in ("aarch64-linux-gnu-gcc", "qemu-aarch64", "llc", "mlir-translate"):
            find_tool(tool)
        aarch64_sysroot()
    except ToolchainError as exc:
        return str(exc)
    return None


MISSING_CROSS_TOOLS = _missing_cross_tools()
needs_cross = pytest.mark.skipif(MISSING_CROSS_TOOLS is not None, reason=MISSING_CROSS_TOOLS or "")
