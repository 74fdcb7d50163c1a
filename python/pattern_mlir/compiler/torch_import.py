"""PyTorch -> linalg-on-tensors MLIR text, through torch-mlir's FX importer.

torch-mlir carries its own MLIR and LLVM. Loaded into the process that also
JIT-compiles with the `mlir` wheel, the second LLVM breaks the JIT (measured:
generated code silently skipped stores), so the import runs in a child
process: the model crosses as a `torch.export` archive, the IR comes back as
text (the two MLIR copies only ever exchange text) and the weights as raw
arrays beside it (`resources`, for `compile_str(..., resources=)`).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .weight_files import read_arrays


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
        return fuse(model.eval())
    except Exception:  # noqa: BLE001 - any tracing failure means: do not fold
        return model.eval()


@dataclass(frozen=True)
class ImportedModule:
    """linalg-on-tensors text whose `dense_resource` handles name arrays in `resources`."""

    text: str
    resources: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


def import_torch(model: torch.nn.Module, example_inputs: tuple, func_name: str = "forward") -> ImportedModule:
    """The linalg-on-tensors module of `model` applied to `example_inputs`."""
    model = fold_batchnorm(model)
    try:
        exported = torch.export.export(model, tuple(example_inputs))
    except Exception as error:
        raise ImportError_(f"torch.export could not capture the model: {error}") from error
    with tempfile.TemporaryDirectory(prefix="pattern-mlir-import-") as tmp:
        archive, output = Path(tmp) / "model.pt2", Path(tmp) / "model.mlir"
        torch.export.save(exported, archive)
        result = subprocess.run(
            [sys.executable, "-m", "pattern_mlir.compiler._torch_mlir_worker", str(archive), str(output), func_name],
            capture_output=True,
            text=True,
            check=False,  # a failure is reported below with torch-mlir's message
        )
        if result.returncode != 0:
            raise ImportError_(f"torch-mlir could not import the model:\n{result.stderr.strip()[-4000:]}")
        return ImportedModule(output.read_text(), read_arrays(Path(f"{output}.weights")))
