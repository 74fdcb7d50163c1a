"""One-shot, data-free projection of a model onto a pattern library, plus checks on the result.

`project` is what benchmarks and compiler tests use: it needs no data, is deterministic and is the
exact Euclidean projection (see connectivity.py), so it is also the building block of ADMM's Z-step
and hard pruning. `spec_from_weights` lets a consumer that only has weights recover the spec, and
`verify` is the single place that decides whether weights obey a spec.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from .connectivity import project_assignment
from .layers import LayerPlan, PruneRules, plan_layers
from .library import check_num_patterns, select_library, validate_library
from .spec import LayerSpec, PruneSpec

__all__ = [
    "apply_spec",
    "project",
    "resolve_library",
    "spec_for_plans",
    "spec_from_weights",
    "verify",
]


def resolve_library(plans: list[LayerPlan], num_patterns: int, library) -> np.ndarray:
    """The given library (validated) or the `num_patterns` most frequent over the planned layers."""
    if library is not None:
        return validate_library(library)
    check_num_patterns(num_patterns)
    return select_library((p.module.weight for p in plans), num_patterns)


def spec_for_plans(
    plans: list[LayerPlan], library: np.ndarray, connectivity: float, weights=None
) -> PruneSpec:
    """Spec of the projection of each planned layer's weight (or of `weights[i]` when given)."""
    layers = OrderedDict()
    for i, p in enumerate(plans):
        w = p.module.weight if weights is None else weights[i]
        layers[p.name] = LayerSpec(p.name, library, project_assignment(w, library, p.ratio).numpy())
    return PruneSpec(layers, len(library), float(connectivity))


@torch.no_grad()
def apply_spec(model: nn.Module, spec: PruneSpec) -> None:
    """Zero, in place, every weight of `model` that `spec` does not keep."""
    modules = dict(model.named_modules())
    for name, s in spec.layers.items():
        w = modules[name].weight
        w.mul_(torch.from_numpy(s.mask()).to(device=w.device, dtype=w.dtype))


def project(
    model: nn.Module,
    num_patterns: int = 8,
    connectivity: float = 3.6,
    library=None,
    rules: PruneRules | None = None,
) -> PruneSpec:
    """Project every eligible 3x3 conv of `model` in place; return the spec.

    library: (P, 3, 3) masks to use; None picks the `num_patterns` most frequent candidates of the
        model's own kernels (num_patterns is ignored when a library is given).
    connectivity: keep ceil(n / connectivity) kernels per layer (>= 1; 1 keeps all).
    rules: which layers, and per-layer ratios (PruneRules).
    """
    if library is None:
        check_num_patterns(num_patterns)
    plans = plan_layers(model, connectivity, rules)
    lib = resolve_library(plans, num_patterns, library)
    spec = spec_for_plans(plans, lib, connectivity)
    apply_spec(model, spec)
    return spec


def _support_to_assignment(
    name: str, weight: torch.Tensor, library: np.ndarray, strict: bool
) -> np.ndarray | None:
    """Pattern id per kernel: the first library mask covering its support; -1 for zero kernels."""
    support = (weight.detach().cpu().reshape(weight.shape[0], weight.shape[1], 9) != 0).numpy()
    lib = library.reshape(len(library), 9)
    covers = ~np.any(support[:, :, None, :] & ~lib[None, None], axis=-1)  # (O, I, P)
    ok = covers.any(axis=-1)
    if not ok.all():
        if not strict:
            return None
        o, i = np.argwhere(~ok)[0]
        taps = np.flatnonzero(support[o, i]).tolist()
        raise ValueError(
            f"layer {name!r}: kernel [{o}, {i}] has non-zero taps {taps} "
            "that no library pattern covers"
        )
    ids = covers.argmax(axis=-1).astype(np.int32)
    ids[~support.any(axis=-1)] = -1
    return ids


def spec_from_weights(model: nn.Module, library, layers=None) -> PruneSpec:
    """Re-derive the spec from weights: each non-zero kernel's pattern is the first covering mask.

    layers: names to derive (each must conform, else ValueError naming the kernel); None takes every
    3x3 groups=1 conv whose weights conform and silently skips dense ones. `connectivity` of the
    result is the measured overall ratio (all kernels / kept kernels).
    """
    lib = validate_library(library)
    if layers is None:
        plans = plan_layers(model, 1.0, PruneRules(connectivity_min_in_channels=0))
        names, strict = [p.name for p in plans], False
    else:
        plans = plan_layers(
            model, 1.0, PruneRules(layers=tuple(layers), connectivity_min_in_channels=0)
        )
        names, strict = list(layers), True
    modules = dict(model.named_modules())
    out = OrderedDict()
    for name in names:
        ids = _support_to_assignment(name, modules[name].weight, lib, strict)
        if ids is not None:
            out[name] = LayerSpec(name, lib, ids)
    if not out:
        raise ValueError("no layer of the model conforms to the library; was it pruned?")
    total = sum(s.assignment.size for s in out.values())
    kept = sum(s.kept_kernels for s in out.values())
    return PruneSpec(out, len(lib), total / kept if kept else float("inf"))


def verify(model: nn.Module, spec: PruneSpec) -> None:
    """Raise ValueError, naming layer, kernel and tap, unless `model`'s weights obey `spec`.

    Checks: each spec layer is a 3x3 groups=1 conv of matching shape, weights are finite, and every
    weight outside the kept pattern (or in a removed kernel) is exactly zero.
    """
    modules = dict(model.named_modules())
    for name, s in spec.layers.items():
        m = modules.get(name)
        if not isinstance(m, nn.Conv2d) or tuple(m.kernel_size) != (3, 3) or m.groups != 1:
            raise ValueError(f"spec layer {name!r} is not a 3x3 groups=1 Conv2d of the model")
        w = m.weight.detach().cpu()
        if tuple(w.shape[:2]) != s.assignment.shape:
            raise ValueError(
                f"layer {name!r}: weight has {tuple(w.shape[:2])} kernels, "
                f"assignment {s.assignment.shape}"
            )
        if not torch.isfinite(w).all():
            raise ValueError(f"layer {name!r} has NaN or inf weights")
        bad = np.argwhere((w.numpy() != 0) & ~s.mask())
        if len(bad):
            o, i, r, c = bad[0]
            pid = int(s.assignment[o, i])
            why = (
                "the kernel was removed (assignment -1)"
                if pid < 0
                else f"it is outside pattern {pid}"
            )
            raise ValueError(
                f"layer {name!r}: weight[{o}, {i}, {r}, {c}] = {float(w[o, i, r, c])!r} "
                f"is non-zero but {why}"
            )
