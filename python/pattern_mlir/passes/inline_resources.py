"""pattern-inline-resources: dense_resource constants -> dense constants.

torch-mlir stores weights as `dense_resource` blobs. The LLVM lowering of
globals initialised from such blobs does not reproduce their data in this MLIR
release (measured: the JIT read garbage), so constants are made plain dense
attributes before bufferization turns them into globals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mlir import ir

from .._mlir_libs import _patternDialects
from .registry import ModulePass, PassError, register_pass
from .utils.constants import constant_array, elements_attr
from .utils.conv_info import collect_ops


@register_pass
@dataclass(frozen=True)
class InlineResources(ModulePass):
    """Turn dense_resource constants into dense constants."""

    name: ClassVar[str] = "pattern-inline-resources"

    def apply(self, module: ir.Operation) -> None:
        for op in collect_ops(module, "arith.constant"):
            if _patternDialects.dense_resource_bytes(op.attributes["value"]) is None:
                continue
            array = constant_array(op.results[0])
            if array is None:
                raise PassError(op, "holds a dense_resource blob that cannot be read")
            op.attributes["value"] = elements_attr(array, op.results[0].type)
