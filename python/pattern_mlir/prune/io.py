"""Save and load a pruned model as spec.json + model.safetensors: data only, never pickle.

Loading a pickle executes code; a spec and a tensor file cannot. The model's architecture is not
stored: the caller rebuilds the nn.Module and loads the state dict into it.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .project import verify
from .spec import PruneSpec

__all__ = ["load", "load_state", "save", "save_state"]

SPEC_FILE = "spec.json"
WEIGHTS_FILE = "model.safetensors"


def save_state(path: str | Path, model: nn.Module, metadata: dict | None = None) -> None:
    """Write `model`'s state dict to a safetensors file (tensors made contiguous, on CPU)."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"metadata": json.dumps(metadata)} if metadata else None
    save_file(tensors, str(path), metadata=meta)


def load_state(path: str | Path, model: nn.Module | None = None) -> dict[str, torch.Tensor]:
    """Read a safetensors state dict; load it into `model` (strict) when given."""
    state = load_file(str(path))
    if model is not None:
        model.load_state_dict(state, strict=True)
    return state


def save(
    directory: str | Path, model: nn.Module, spec: PruneSpec, metadata: dict | None = None
) -> Path:
    """Write `directory`/spec.json and model.safetensors; check that the weights obey spec first."""
    verify(model, spec)
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    (d / SPEC_FILE).write_text(spec.to_json())
    save_state(d / WEIGHTS_FILE, model, metadata)
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
