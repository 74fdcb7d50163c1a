"""Translate an MLIR module in the LLVM dialect into LLVM IR text.

The ``mlir`` Python wheel exposes no MLIR-to-LLVM-IR translation, so for now this shells out to
the wheel's ``mlir-translate --mlir-to-llvmir``. Everything goes through the one function below
so that it can later be replaced by an in-process call (``mlirTranslateModuleToLLVMIRToString``
through the project's extension) without touching callers.
"""

from __future__ import annotations

from ..runtime.toolchain import ToolFailedError, run_tool

__all__ = ["translate_to_llvm_ir"]


def translate_to_llvm_ir(module_text: str) -> str:
    """Return the LLVM IR (``.ll`` text) of ``module_text``, a module fully in the LLVM dialect.

    Raises :class:`~pattern_mlir.runtime.toolchain.ToolFailedError` carrying mlir-translate's
    diagnostics when the module is not translatable (typically: ops of other dialects left
    over because a lowering pass is missing from the pipeline).
    """
    try:
        proc = run_tool("mlir-translate", ["--mlir-to-llvmir", "-"], input=module_text)
    except ToolFailedError as exc:
        hint = ""
        markers = ("not found for custom op", "LLVM Translation failed", "cannot be converted")
        if any(marker in exc.stderr for marker in markers):
            hint = (
                "\nhint: the module still holds ops outside the LLVM dialect; "
                "check that the lowering pipeline ends with reconcile-unrealized-casts"
            )
        raise ToolFailedError(
            f"MLIR to LLVM IR translation failed:\n{exc}{hint}", exc.cmd, exc.returncode, exc.stderr
        ) from None
    return proc.stdout
