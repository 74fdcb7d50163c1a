"""Save and load a pruned model as spec.json + model.safetensors: data only, never pickle.

Loading a pickle executes code; a spec and a tensor file cannot. The model's architecture is not
stored: the caller rebuilds the nn.Module and loads the state dict into it.

Nothing is ever half-written: each file is written under a temporary name and renamed into place
(atomic.py), and spec.json is the commit mark of a saved model: save() removes the old one before
the new weights go in and renames the new one in last, so load() finds a matching pair or no spec
at all. In a distributed run only rank 0 writes (every rank holds the same model), so both the
usual `if rank == 0: save(...)` and a plain `save(...)` on every rank work.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from . import distributed
from .atomic import atomic_file
from .project import verify
from .spec import PruneSpec

__all__ = ["load", "load_state", "save", "save_state"]

SPEC_FILE = "spec.json"
WEIGHTS_FILE = "model.safetensors"


def _write_state(path: Path, model: nn.Module, metadata: dict | None) -> None:
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"metadata": json.dumps(metadata)} if metadata else None
    save_file(tensors, str(path), metadata=meta)


def save_state(path: str | Path, model: nn.Module, metadata: dict | None = None) -> None:
    """Write `model`'s state dict to a safetensors file (tensors made contiguous, on CPU)."""
    with atomic_file(path) as tmp:
        _write_state(tmp, model, metadata)


def load_state(path: str | Path, model: nn.Module | None = None) -> dict[str, torch.Tensor]:
    """Read a safetensors state dict; load it into `model` (strict) when given."""
    state = load_file(str(path))
    if model is not None:
        model.load_state_dict(state, strict=True)
    return state


def save(
    directory: str | Path, model: nn.Module, spec: PruneSpec, metadata: dict | None = None
) -> Path:
    """Write `directory`/spec.json and model.safetensors; check that the weights obey spec first.

    Other files in `directory` are left alone. On ranks other than 0 of a distributed run this
    checks the weights and writes nothing.
    """
    verify(model, spec)
    d = Path(directory)
    if distributed.process_rank() != 0:
        return d
    # Exit order: the weights are renamed in first, then the spec (the commit mark).
    with atomic_file(d / SPEC_FILE) as spec_tmp, atomic_file(d / WEIGHTS_FILE) as weights_tmp:
        spec_tmp.write_text(spec.to_json())
        _write_state(weights_tmp, model, metadata)
        (d / SPEC_FILE).unlink(missing_ok=True)  # the old spec must not vouch for new weights
    return d


def load(
    directory: str | Path, model: nn.Module | None = None
) -> tuple[dict[str, torch.Tensor], PruneSpec]:
    """Read what save() wrote. With `model`, load the weights into it and verify them."""
    d = Path(directory)
    if not (d / SPEC_FILE).is_file() or not (d / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(f"{d} does not hold {SPEC_FILE} and {WEIGHTS_FILE}")
    spec = PruneSpec.from_json((d / SPEC_FILE).read_text())
    state = load_state(d / WEIGHTS_FILE, model)
    if model is not None:
        verify(model, spec)
    return state, spec
