"""The call signature of a module's @forward: what the runtime can pass in and get back."""

from __future__ import annotations

from mlir import ir

from ..runtime.executable import ENTRY
from .errors import CompileError

Shape = tuple[int, ...]


def entry_signature(module: ir.Module) -> tuple[list[Shape], list[Shape]]:
    """Input and output shapes of @forward; rejects what the runtime cannot call."""
    functions = [op for op in module.body.operations if op.operation.name == "func.func"]
    entry = next((f for f in functions if f.attributes["sym_name"].value == ENTRY), None)
    if entry is None:
        raise CompileError("import", f"the module has no function @{ENTRY}")
    ftype = entry.attributes["function_type"].value

    def shape(type_, what: str) -> Shape:
        if not isinstance(type_, ir.RankedTensorType) or not type_.has_static_shape:
            raise CompileError(
                "import", f"{what} of @{ENTRY} has type {type_}; only static shapes are supported"
            )
        if str(type_.element_type) != "f32":
            raise CompileError(
                "import",
                f"{what} of @{ENTRY} has element type {type_.element_type}; only f32 is supported",
            )
        return tuple(type_.shape)

    return (
        [shape(t, f"input {i}") for i, t in enumerate(ftype.inputs)],
        [shape(t, f"result {i}") for i, t in enumerate(ftype.results)],
    )
