"""An LLVM-dialect model -> a shared library for a CPU target, weights linked as raw bytes."""

from __future__ import annotations

from pathlib import Path

from mlir import ir

from ..runtime.call_signature import SIGNATURE_SYMBOL, Signature
from ..runtime.toolchain import run_tool
from ..target import Target
from .shared_library import LibraryArtifacts, compile_library
from .weight_blob import ExternalConstant, assemble_blob, externalize_constants


def build_model_library(
    module: ir.Operation,
    workdir: Path,
    target: Target,
    opt_level: int,
    signature: Signature,
    asm: bool = False,
    constants: list[ExternalConstant] = (),
) -> tuple[str, LibraryArtifacts]:
    """(LLVM IR text, artifacts) of ``libmodel.so`` in ``workdir``; changes ``module`` in place.

    Weights go into the library as an `.incbin` object, not through LLVM IR text, opt and llc
    (see backend/weight_blob.py); `constants` are those already moved out of ``module``.
    The library carries `signature` (runtime/call_signature.py), which loading checks.
    """
    from .._mlir_libs import _patternDialects

    workdir.mkdir(parents=True, exist_ok=True)
    constants = [*constants, *externalize_constants(module)]
    llvm_ir = _patternDialects.translate_to_llvm_ir(module)
    objects = [_assemble_signature(signature, workdir, target.cc)]
    if constants:
        objects.append(assemble_blob(constants, workdir, target.cc))
    artifacts = compile_library(
        llvm_ir, workdir, target, name="model", opt_level=opt_level, link_args=objects, asm=asm
    )
    return llvm_ir, artifacts


def _assemble_signature(signature: Signature, workdir: Path, compiler: str) -> Path:
    """An object defining ``SIGNATURE_SYMBOL`` over the signature's bytes (read-only data)."""
    data = signature.to_bytes()
    lines = [
        ".section .rodata",
        f".globl {SIGNATURE_SYMBOL}",
        f".type {SIGNATURE_SYMBOL}, %object",
        f".size {SIGNATURE_SYMBOL}, {len(data)}",
        f"{SIGNATURE_SYMBOL}:",
    ]
    lines += [".byte " + ", ".join(map(str, data[i : i + 32])) for i in range(0, len(data), 32)]
    source = workdir / "signature.S"
    source.write_text("\n".join(lines) + "\n")
    run_tool(compiler, ["-c", source.name, "-o", "signature.o"], cwd=workdir)
    return workdir / "signature.o"
