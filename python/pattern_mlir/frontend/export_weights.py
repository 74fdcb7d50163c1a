"""Move an ExportedProgram's weights to the import child as raw arrays, not in its archive.

`torch.export.save` zips every weight with its pickles, and the child's `torch.export.load`
reads them back: seconds of VGG-16's import. Here the weights go into one raw file
(`weight_files`, mapped, not read, by the child), and the archive holds meta tensors of the same
shapes and classes, quick to save and load (measured: docs/design.md, section 10). The child
puts the real tensors back before torch-mlir sees the program, and names which of the blobs it
made are those very arrays (`shared_blobs`), so they need not cross back either.

torch only (no `mlir`): both processes import it. It sets ExportedProgram's private
`_state_dict` and `_constants`, which torch 2.13 (the pinned release) keeps as plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

__all__ = ["restore_weights", "shared_blobs", "strip_weights"]

_TABLES = ("_state_dict", "_constants")


def _movable(value) -> bool:
    """A dense CPU tensor numpy can view (not a script object, not bfloat16)."""
    if (
        not isinstance(value, torch.Tensor)
        or value.layout != torch.strided
        or value.device.type != "cpu"
    ):
        return False
    try:
        torch.empty(0, dtype=value.dtype).numpy()
    except TypeError:
        return False
    return True


def _meta_like(value: torch.Tensor) -> torch.Tensor:
    meta = torch.empty(value.shape, dtype=value.dtype, device="meta")
    if isinstance(value, torch.nn.Parameter):
        return torch.nn.Parameter(meta, requires_grad=value.requires_grad)
    return meta


def strip_weights(exported: torch.export.ExportedProgram) -> dict[str, np.ndarray]:
    """Replaces `exported`'s weights by meta tensors; returns their data by "table/key"."""
    arrays = {}
    for table in _TABLES:
        entries = getattr(exported, table)
        for key, value in list(entries.items()):
            if _movable(value):
                arrays[f"{table}/{key}"] = value.detach().contiguous().numpy()
                entries[key] = _meta_like(value)
    return arrays


def restore_weights(
    exported: torch.export.ExportedProgram, arrays: Mapping[str, np.ndarray]
) -> None:
    """Undoes `strip_weights` with tensors that share `arrays`' memory (no copy)."""
    for name, array in arrays.items():
        table, key = name.split("/", 1)
        entries = getattr(exported, table)
        meta = entries[key]
        tensor = torch.from_numpy(array)
        if isinstance(meta, torch.nn.Parameter):
            tensor = torch.nn.Parameter(tensor, requires_grad=meta.requires_grad)
        entries[key] = tensor


def shared_blobs(
    blobs: Mapping[str, np.ndarray], weights: Mapping[str, np.ndarray]
) -> dict[str, str]:
    """{blob name: weight name} for each blob that is exactly one of `weights` (same memory)."""
    by_address = {(a.ctypes.data, a.dtype.str, a.shape): name for name, a in weights.items()}
    shared = {}
    for blob, array in blobs.items():
        name = by_address.get((array.ctypes.data, array.dtype.str, array.shape))
        if name is not None and array.flags.c_contiguous:
            shared[blob] = name
    return shared
