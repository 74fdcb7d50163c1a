"""pattern-distinct-results: a value returned more than once is returned as copies.

`buffer-results-to-out-params` gives each result of @forward its own output buffer; a tensor
returned twice (a model whose two outputs fold into one computation) would have to live in
two buffers at once, and the pass crashes on it in this MLIR release (SIGSEGV). Every
repeat of a returned tensor becomes a `linalg.copy` of it, so each result is a distinct
value with a buffer of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mlir import ir
from mlir.dialects import linalg, tensor

from .registry import ModulePass, register_pass


@register_pass
@dataclass(frozen=True)
class DistinctResults(ModulePass):
    """Return copies of a tensor that a function returns more than once."""

    name: ClassVar[str] = "pattern-distinct-results"

    def apply(self, module: ir.Operation) -> None:
        for function in module.regions[0].blocks[0].operations:
            if function.operation.name != "func.func" or not function.regions[0].blocks:
                continue
            for block in function.regions[0].blocks:
                terminator = block.operations[len(block.operations) - 1]
                if terminator.operation.name == "func.return":
                    _copy_repeats(terminator.operation)


def _copy_repeats(ret: ir.Operation) -> None:
    seen = []
    for index, value in enumerate(list(ret.operands)):
        if not isinstance(value.type, ir.RankedTensorType):
            continue
        if not any(
            value == other for other in seen
        ):  # Value wrappers compare by identity of the value
            seen.append(value)
            continue
        with ir.InsertionPoint(ret), ret.location:
            empty = tensor.EmptyOp(value.type.shape, value.type.element_type).result
            ret.operands[index] = linalg.copy(value, outs=[empty])
