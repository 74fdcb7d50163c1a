"""The call signature of a module's @forward: what the runtime can pass in and get back."""

from __future__ import annotations

import dataclasses

import numpy as np
from mlir import ir

from ..runtime.call_signature import TensorSpec
from ..runtime.executable import ENTRY
from .errors import CompileError
from .index_bounds import take_index_bounds

# Element types a caller can pass in and get back: float tensors, and integer ones such as
# token ids for an nn.Embedding or the indices argmax returns.
_DTYPES = {"f32": "float32", "i64": "int64", "i32": "int32"}


def entry_signature(module: ir.Module) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Input and output shapes and element types of @forward; rejects what the runtime
    cannot call."""
    functions = [op for op in module.body.operations if op.operation.name == "func.func"]
    entry = next((f for f in functions if f.attributes["sym_name"].value == ENTRY), None)
    if entry is None:
        raise CompileError("import", f"the module has no function @{ENTRY}")
    ftype = entry.attributes["function_type"].value

    def spec(type_, what: str) -> TensorSpec:
        if not isinstance(type_, ir.RankedTensorType) or not type_.has_static_shape:
            raise CompileError(
                "import", f"{what} of @{ENTRY} has type {type_}; only static shapes are supported"
            )
        dtype = _DTYPES.get(str(type_.element_type))
        if dtype is None:
            raise CompileError(
                "import",
                f"{what} of @{ENTRY} has element type {type_.element_type}; supported: "
                + ", ".join(_DTYPES),
            )
        return TensorSpec(tuple(type_.shape), dtype)

    return (
        [spec(t, f"input {i}") for i, t in enumerate(ftype.inputs)],
        [spec(t, f"result {i}") for i, t in enumerate(ftype.results)],
    )


def with_index_bounds(module: ir.Module, inputs: list[TensorSpec]) -> list[TensorSpec]:
    """`inputs` with the bounds the module's index checks state (compiler/index_bounds.py,
    which erases those checks from the module); a side left open is the dtype's own."""
    found = take_index_bounds(module, ENTRY)
    specs = []
    for index, spec in enumerate(inputs):
        if index in found:
            info = np.iinfo(spec.dtype)
            low, high = found[index]
            bounds = (info.min if low is None else low, info.max + 1 if high is None else high)
            if bounds[0] >= bounds[1]:
                raise CompileError(
                    "import",
                    f"input {index} of @{ENTRY} is checked against an empty range {bounds}",
                )
            spec = dataclasses.replace(spec, bounds=bounds)
        specs.append(spec)
    return specs
