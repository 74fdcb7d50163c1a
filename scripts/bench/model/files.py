"""Where a prepared model's files live, so that every worker process finds the same ones.

The key holds the pruning setting and a digest of the sources that decide the weights (the
model's own file, the zoo's shared files, the pruning package): a changed model or projection
never reuses stale weights, an unchanged one skips the minute-long ONNX export of VGG-16 on
the next run. The orchestrator computes the directory once and hands it to every worker, so
colleagues committing mid-run cannot send workers to a different key.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

__all__ = ["ORDER", "Prepared", "prepared", "source_digest"]


def _package() -> Path:
    """Where ``import pattern_mlir`` would load from (the run's snapshot once activated)."""
    return Path(importlib.util.find_spec("pattern_mlir").origin).parent


# The benchmarked zoo models in report order, each with its definition's file.
_MODEL_FILES = {
    "vgg16": "vgg.py",
    "resnet50": "resnet.py",
    "mobilenet-v2": "mobilenet_v2.py",
    "style-transfer": "style_transfer.py",
    "colorization": "colorization.py",
    "super-resolution": "super_resolution.py",
}
ORDER = tuple(_MODEL_FILES)


def source_digest(name: str) -> str:
    """Digest of the sources that decide model ``name``'s projected weights."""
    models = _package() / "models"
    own = _MODEL_FILES.get(name)
    files = [models / own, models / "__init__.py", models / "init.py"] if own else []
    files = files or sorted(models.glob("*.py"))  # a model this table does not know: all
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    making = [here / "prepare.py", here.parent / "onnx_export.py"]  # how the files are made
    for f in [*files, *sorted((_package() / "prune").glob("*.py")), *making]:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


@dataclass(frozen=True)
class Prepared:
    """Files of one model at one pruning setting under the work directory."""

    name: str
    root: Path

    @property
    def state(self) -> Path:  # projected state_dict (torch.save)
        return self.root / "state.pt"

    @property
    def input(self) -> Path:  # the example input, float32 NCHW
        return self.root / "input.npy"

    @cached_property
    def x(self):  # the example input, loaded once per process
        import numpy as np

        return np.load(self.input)

    @property
    def reference(self) -> Path:  # torch's output at one thread
        return self.root / "reference.npy"

    @property
    def onnx(self) -> Path:
        return self.root / "model.onnx"

    @property
    def mnn(self) -> Path:
        return self.root / "model.mnn"

    @property
    def tflite(self) -> Path:  # LiteRT's conversion of the projected torch model
        return self.root / "model.tflite"

    @property
    def meta_path(self) -> Path:  # MACs, ONNX tensor names, preparation times
        return self.root / "meta.json"

    def exe_dir(self, threads: int) -> Path:  # pattern-mlir host executable, reloaded by rounds > 1
        return self.root / f"exe.t{threads}"

    @property
    def ready(self) -> bool:
        return self.meta_path.exists()

    def meta(self) -> dict:
        return json.loads(self.meta_path.read_text())


def prepared(
    workdir: str | Path, name: str, patterns: int, connectivity: float, block_sparsity: float = 0.0
) -> Prepared:
    blocks = f".b{block_sparsity:g}" if block_sparsity else ""
    key = f"{name}.p{patterns}.c{connectivity:g}{blocks}.{source_digest(name)}"
    return Prepared(name, Path(workdir) / "models" / key)
