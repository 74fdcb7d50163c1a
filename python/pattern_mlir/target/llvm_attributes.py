"""Stamps a CPU target onto every function of an LLVM-dialect module.

LLVM picks the instructions of a function from its ``target-cpu`` and ``target-features``
attributes when it has them, and from the TargetMachine otherwise. MLIR's ExecutionEngine
builds its TargetMachine for the host CPU and offers no way to name another, so the
attributes are how the JIT generates x86-64-v3 code on an AVX-512 host, and they make llc
build the saved library from the same per-function settings: one target, one code.

The JIT wraps every function in an ``_mlir_<name>`` entry it adds after this point, without
the attributes; a public function inlined into its wrapper would be compiled for the host
after all. Public functions are therefore kept out of line (one call per model run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .description import Target

if TYPE_CHECKING:
    from mlir import ir

__all__ = ["stamp_target"]


def _is_public_definition(op: ir.Operation) -> bool:
    if not op.regions[0].blocks:
        return False  # a declaration
    if "sym_visibility" in op.attributes:
        return False
    linkage = str(op.attributes["linkage"]) if "linkage" in op.attributes else ""
    return linkage in ("", "#llvm.linkage<external>")


def stamp_target(module: ir.Operation, target: Target) -> None:
    """Sets target-cpu, tune-cpu and target-features on every llvm.func of `module`."""
    from mlir import ir  # here: the runtime reads target descriptions without MLIR

    with module.context:
        cpu = ir.StringAttr.get(target.cpu)
        tune = ir.StringAttr.get(target.tune_cpu or target.cpu)
        features = ir.Attribute.parse(
            "#llvm.target_features<[" + ", ".join(f'"{f}"' for f in target.features) + "]>"
        )
        for op in module.regions[0].blocks[0].operations:
            if op.operation.name != "llvm.func":
                continue
            attributes = op.operation.attributes
            attributes["target_cpu"] = cpu
            attributes["tune_cpu"] = tune
            if target.features:
                attributes["target_features"] = features
            if _is_public_definition(op.operation):
                attributes["no_inline"] = ir.UnitAttr.get()
