"""MLIR (LLVM dialect) to LLVM IR translation."""

from __future__ import annotations

import pytest
from aarch64_testlib import lower_to_llvm_dialect
from pattern_mlir.backend.llvm_ir import translate_to_llvm_ir
from pattern_mlir.runtime.toolchain import ToolFailedError


def test_translates_lowered_module(kernels_llvm_ir):
    assert "define void @fma4(" in kernels_llvm_ir
    assert "define void @_mlir_ciface_fma4(" in kernels_llvm_ir
    assert "<4 x float>" in kernels_llvm_ir


def test_unlowered_module_is_rejected_with_hint():
    text = "func.func @f(%x: index) -> index { %y = arith.addi %x, %x : index\n return %y : index }"
    with pytest.raises(ToolFailedError, match="lowering pipeline") as info:
        translate_to_llvm_ir(text)
    assert "arith" in info.value.stderr


def test_small_function_round_trip():
    llvm_text = lower_to_llvm_dialect("func.func @g() { return }")
    assert "define void @g()" in translate_to_llvm_ir(llvm_text)
