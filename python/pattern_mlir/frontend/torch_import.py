"""PyTorch -> linalg-on-tensors MLIR text, through torch-mlir's FX importer.

torch-mlir carries its own MLIR and LLVM. Loaded into the process that also
JIT-compiles with the `mlir` wheel, the second LLVM breaks the JIT (measured:
generated code silently skipped stores), so the import runs in a child
process (import_child.py, kept for the next import): the model crosses as a `torch.export` archive with its weights beside
it as raw arrays (`export_weights`), the IR comes back as text (the two MLIR
copies only ever exchange text) and the weights as the parent's own arrays
(`resources`, for `compile_str(..., resources=)`).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .export_weights import strip_weights
from .import_child import ChildFailed, give_back, take_child
from .weight_files import read_arrays, scratch_directory, write_arrays


class ImportError_(RuntimeError):
    """torch.export or torch-mlir could not import the model."""


def fold_batchnorm(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of `model` with eval-mode BatchNorm folded into the preceding convs.

    Folding scales each filter and bias, which keeps zeros zero: a pattern-pruned
    conv stays pattern-conforming. Models torch.fx cannot trace are kept as they
    are (their BatchNorms then run as separate elementwise ops).
    """
    from torch.fx.experimental.optimization import fuse

    try:
        # Traced with stack traces: torch.export of the traced module then still knows the
        # user's source line of every op, which errors name (see `node_location`).
        tracer = torch.fx.Tracer()
        tracer.record_stack_traces = True
        graph = tracer.trace(model.eval())
        return fuse(torch.fx.GraphModule(tracer.root, graph, type(model).__name__), no_trace=True)
    except Exception:  # noqa: BLE001 - any tracing failure means: do not fold
        return model.eval()


@dataclass(frozen=True)
class ImportedModule:
    """linalg-on-tensors text whose `dense_resource` handles name arrays in `resources`."""

    text: str
    resources: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


def import_torch(
    model: torch.nn.Module, example_inputs: tuple, func_name: str = "forward"
) -> ImportedModule:
    """The linalg-on-tensors module of `model` applied to `example_inputs`."""
    child = take_child()  # a new one imports torch-mlir while this process exports the model
    # The import needs eval mode (BatchNorm folding, no dropout); the caller's model is left
    # in the modes it came in.
    modes = [(module, module.training) for module in model.modules()]
    try:
        return _import_with(child, model, example_inputs, func_name)
    finally:
        for module, training in modes:
            module.training = training
        give_back(child)


def _import_with(child, model, example_inputs, func_name: str) -> ImportedModule:
    try:
        exported = torch.export.export(fold_batchnorm(model), tuple(example_inputs))
    except Exception as error:
        raise ImportError_(f"torch.export could not capture the model: {error}") from error
    given = strip_weights(exported)
    scratch = scratch_directory(sum(a.nbytes for a in given.values()))
    with tempfile.TemporaryDirectory(prefix="pattern-mlir-import-", dir=scratch) as directory:
        tmp = Path(directory)
        archive, weights, output = tmp / "model.pt2", tmp / "weights.in", tmp / "model.mlir"
        write_arrays(weights, given)
        torch.export.save(exported, archive)
        request = {
            "archive": str(archive),
            "weights": str(weights),
            "output": str(output),
            "func_name": func_name,
        }
        try:
            child.run(request)
        except ChildFailed as error:
            raise ImportError_(f"torch-mlir could not import the model:\n{error}") from None
        shared = json.loads(Path(f"{output}.shared.json").read_text())
        resources = {blob: given[name] for blob, name in shared.items()}
        resources.update(read_arrays(Path(f"{output}.weights")))
        return ImportedModule(output.read_text(), resources)
