"""An LLVM-dialect model -> a shared library for a CPU target, weights linked as raw bytes."""

from __future__ import annotations

from pathlib import Path

from mlir import ir

from ..runtime.shared_library import LibraryArtifacts, compile_library
from ..target import Target
from ..runtime.weight_blob import ExternalConstant, assemble_blob, externalize_constants


def build_model_library(
    module: ir.Operation, workdir: Path, target: Target, opt_level: int, asm: bool = False,
    constants: list[ExternalConstant] = (),
) -> tuple[str, LibraryArtifacts]:
    """(LLVM IR text, artifacts) of ``libmodel.so`` in ``workdir``; changes ``module`` in place.

    Weights go into the library as an `.incbin` object, not through LLVM IR text, opt and llc
    (see runtime/weight_blob.py); `constants` are those already moved out of ``module``.
    """
    from .._mlir_libs import _patternDialects

    workdir.mkdir(parents=True, exist_ok=True)
    constants = [*constants, *externalize_constants(module)]
    llvm_ir = _patternDialects.translate_to_llvm_ir(module)
    blob = [assemble_blob(constants, workdir, target.cc)] if constants else []
    artifacts = compile_library(llvm_ir, workdir, target, name="model", opt_level=opt_level,
                                link_args=blob, asm=asm)
    return llvm_ir, artifacts
