"""Make pattern-pruned models for the GPU path's tests and report, from torch.

Why here and not in the official front end: the GPU path must be testable on
its own, before the CPU team's ``pattern-raise-conv`` / ``pattern-pack-fkw``
passes exist. Three small steps:

* ``prune_to_patterns``: project every 3x3 conv of a torch model onto a 4-tap,
  centre-kept library (per kernel the pattern keeping the most energy) and keep
  the strongest ``1/connectivity`` of its kernels: the torch model itself becomes
  the reference;
* ``export_linalg``: torch-mlir's FX importer to linalg-on-tensors text, in a child
  process (torch-mlir has its own MLIR and LLVM copies; only text crosses over);
* ``pack_pattern_convs``: in that text, replace each ``linalg.conv_2d_nchw_fchw``
  whose constant 3x3 weights obey the library by ``pattern.packed_conv2d``
  (``codegen.fkw.pack``), absorbing the zero ``tensor.pad`` before it and the bias
  broadcast it accumulates into.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from mlir import ir
from mlir.passmanager import PassManager

from pattern_mlir.codegen import fkw
from pattern_mlir.dialects.builders import derive_assignment
from pattern_mlir.gpu.conv_match import match_conv, replace_with_packed
from pattern_mlir.gpu.errors import GpuLoweringError
from pattern_mlir.gpu.irutil import ops_named


def candidate_library(num_patterns: int) -> np.ndarray:
    """(P, 3, 3) masks: the centre plus 3 of its 8 neighbours, first P in a fixed order."""
    neighbours = [t for t in range(9) if t != 4]
    masks = []
    for combo in itertools.combinations(neighbours, 3):
        mask = np.zeros(9, dtype=bool)
        mask[[4, *combo]] = True
        masks.append(mask.reshape(3, 3))
    # Interleave so small libraries mix shapes (PatDNN's 8 most frequent are spread out).
    order = list(range(0, len(masks), 7)) + [i for i in range(len(masks)) if i % 7]
    return np.stack([masks[i] for i in order[:num_patterns]])


def prune_to_patterns(model, library: np.ndarray, connectivity: float = 1.0) -> int:
    """Zero, in place, every 3x3 conv weight outside its best pattern and weakest kernels.

    Returns the number of convs pruned. Depthwise (grouped) convs are left dense:
    the pattern op is a full convolution.
    """
    import torch

    lib = torch.from_numpy(np.asarray(library, dtype=bool)).float()  # (P, 3, 3)
    pruned = 0
    with torch.no_grad():
        for module in model.modules():
            if not isinstance(module, torch.nn.Conv2d) or module.kernel_size != (3, 3):
                continue
            if module.groups != 1:
                continue
            w = module.weight
            energy = torch.einsum("oikl,pkl->oip", w * w, lib)
            best = energy.argmax(-1)
            mask = lib[best]  # (O, I, 3, 3)
            kept = energy.gather(-1, best[..., None])[..., 0]
            keep = max(1, round(kept.numel() / connectivity))
            threshold = kept.flatten().topk(keep).values[-1]
            mask = mask * (kept >= threshold)[..., None, None]
            w.mul_(mask)
            pruned += 1
    return pruned


def export_linalg(model, example) -> str:
    """torch-mlir linalg-on-tensors text of ``model(example)`` (eval mode), ``@main``.

    Runs torch-mlir in a child process (``_export_worker``): see its docstring.
    BatchNorm is kept as it is (not folded), so its elementwise ops are exercised.
    """
    return export_linalg_many([(model, example)])[0]


def export_linalg_many(cases) -> list[str]:
    """``export_linalg`` of several (model, example) pairs in one child process."""
    import torch

    with tempfile.TemporaryDirectory(prefix="pattern-gpu-export-") as tmp:
        paths = []
        for i, (model, example) in enumerate(cases):
            archive, output = Path(tmp) / f"model{i}.pt2", Path(tmp) / f"model{i}.mlir"
            torch.export.save(torch.export.export(model.eval(), (example,)), archive)
            paths += [str(archive), str(output)]
        proc = subprocess.run(
            [sys.executable, "-m", "pattern_mlir.gpu._export_worker", *paths],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise GpuLoweringError(f"torch-mlir export failed:\n{proc.stderr.strip()[-4000:]}")
        return [Path(out).read_text() for out in paths[1::2]]


def pack_pattern_convs(module_text: str, library: np.ndarray) -> tuple[str, int]:
    """Replace conforming dense convs by pattern.packed_conv2d; return (text, how many)."""
    masks = np.asarray(library, dtype=bool)
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(module_text)
        count = 0
        for conv in ops_named(module, "linalg.conv_2d_nchw_fchw"):
            match = match_conv(conv)
            if match is None or match.weight.shape[2:] != (3, 3):
                continue
            try:
                assignment = derive_assignment(match.weight, masks)
            except ValueError:
                continue
            replace_with_packed(match, fkw.pack(match.weight, masks, assignment))
            count += 1
        if count:  # drop the pads, broadcasts and dense weights that lost their users
            PassManager.parse("builtin.module(canonicalize)").run(module.operation)
        return module.operation.get_asm(), count
