"""Fixtures for the ARM64 runtime tests: lower the test kernels once, compile them once."""

from __future__ import annotations

import pytest
from aarch64_testlib import KERNELS, MISSING_CROSS_TOOLS, lower_to_llvm_dialect


@pytest.fixture(scope="session")
def kernels_text() -> str:
    return KERNELS.read_text()


@pytest.fixture(scope="session")
def kernels_llvm_ir(kernels_text) -> str:
    from pattern_mlir.backend.llvm_ir import translate_to_llvm_ir

    return translate_to_llvm_ir(lower_to_llvm_dialect(kernels_text))


@pytest.fixture(scope="session")
def kernels_artifacts(kernels_llvm_ir, tmp_path_factory):
    if MISSING_CROSS_TOOLS is not None:
        pytest.skip(MISSING_CROSS_TOOLS)
    from pattern_mlir.backend.aarch64_build import compile_aarch64

    return compile_aarch64(kernels_llvm_ir, tmp_path_factory.mktemp("aarch64"), name="kernels")


@pytest.fixture(scope="session")
def kernels_module(kernels_artifacts, kernels_text):
    from pattern_mlir.runtime.aarch64 import Aarch64Module, signature_from_mlir

    names = ("fma4", "fma4_plain", "dot4", "axpk2d", "store0", "write_at")
    signatures = {name: signature_from_mlir(kernels_text, name) for name in names}
    return Aarch64Module(kernels_artifacts.so_path, signatures=signatures)
