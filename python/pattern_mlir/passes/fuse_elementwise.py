"""pattern-fuse-elementwise: chains of elementwise linalg.generic ops as one generic.

torch-mlir imports each torch op as its own generic: hardswish is five (add, two clamps,
multiply, divide), SiLU two, a BatchNorm that could not be folded several. Run one by one,
each reads and writes the whole tensor; fused, the chain is one pass over memory.

The fusion is upstream's (`linalg::populateElementwiseOpsFusionPatterns`), applied through the
extension with a control that admits only all-parallel generics on tensors whose producer has
a single use. Upstream's pass `linalg-fuse-elementwise-ops` adds reshape propagation, which
moved a classifier's flatten above its weights and took its Linear off the GEMM path; here
reshapes, reductions and named ops stay as the later planners expect them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mlir import ir

from .._mlir_libs import _patternDialects
from .registry import ModulePass, register_pass


@register_pass
@dataclass(frozen=True)
class FuseElementwise(ModulePass):
    """Fuse chains of elementwise linalg.generic ops."""

    name: ClassVar[str] = "pattern-fuse-elementwise"

    def apply(self, module: ir.Operation) -> None:
        _patternDialects.fuse_elementwise_chains(module)
