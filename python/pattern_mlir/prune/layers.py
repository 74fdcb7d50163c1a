"""Which convolutions get pruned, and how hard: the user's rules, resolved per layer.

Pattern pruning applies to dense (groups=1) 3x3 convolutions. Not every such layer should lose
whole kernels: the first layer of an image model often has 1-3 input channels, so removing kernels
there removes entire filters' worth of information. The rules let a user say that (thin layers keep
all kernels; first/last layer ratios; per-layer overrides) instead of hand-editing the result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["LayerPlan", "PruneRules", "check_ratio", "eligible_convs", "plan_layers"]


@dataclass(frozen=True)
class PruneRules:
    """Per-layer rules for pattern and connectivity pruning.

    layers: prune only these qualified module names (each must be a 3x3, groups=1 Conv2d); None
        means every such conv in the model.
    exclude: names left dense.
    min_in_channels: convs with fewer input channels are left dense (no patterns either).
    connectivity_min_in_channels: convs with fewer input channels get patterns but keep every
        kernel (connectivity 1); protects thin first layers.
    first, last: connectivity ratio for the first / last pruned conv (module order); None = global.
    overrides: name -> connectivity ratio, applied last (wins over everything above).
    """

    layers: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    min_in_channels: int = 1
    connectivity_min_in_channels: int = 4
    first: float | None = None
    last: float | None = None
    overrides: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LayerPlan:
    """One conv to prune: its qualified name, the module, and the connectivity ratio it gets."""

    name: str
    module: nn.Conv2d
    ratio: float


def check_ratio(ratio: float, what: str = "connectivity") -> float:
    """Return `ratio` as a float, or raise ValueError unless it is finite and >= 1."""
    try:
        value = float(ratio)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number >= 1, got {ratio!r}") from None
    if not math.isfinite(value) or value < 1:
        raise ValueError(
            f"{what} must be a finite number >= 1 (1 keeps every kernel), got {ratio!r}"
        )
    return value


def _is_pattern_conv(m: nn.Module) -> bool:
    return isinstance(m, nn.Conv2d) and tuple(m.kernel_size) == (3, 3) and m.groups == 1


def eligible_convs(model: nn.Module) -> dict[str, nn.Conv2d]:
    """Every dense 3x3 Conv2d of `model`, by qualified name, in module order."""
    return {name: m for name, m in model.named_modules() if _is_pattern_conv(m)}


def _named_modules_checked(model: nn.Module, names, what: str) -> None:
    modules = dict(model.named_modules())
    for name in names:
        if name not in modules:
            raise ValueError(f"{what}: no module named {name!r} in the model")
        m = modules[name]
        if not _is_pattern_conv(m):
            desc = type(m).__name__
            if isinstance(m, nn.Conv2d):
                desc += f" with kernel_size={tuple(m.kernel_size)}, groups={m.groups}"
            raise ValueError(
                f"{what}: layer {name!r} is a {desc}, not a 3x3 groups=1 Conv2d; "
                "patterns need 3x3 kernels"
            )


def plan_layers(
    model: nn.Module,
    connectivity: float,
    rules: PruneRules | None = None,
    *,
    allow_empty: bool = False,
) -> list[LayerPlan]:
    """Resolve `rules` against `model`: the ordered list of convs to prune and their ratios.

    Raises ValueError for a named layer that does not exist or is not a 3x3 conv, for bad ratios,
    for non-finite weights, and when no layer is left to prune (unless allow_empty: block
    pruning has other layers to prune).
    """
    rules = rules or PruneRules()
    connectivity = check_ratio(connectivity)
    if rules.layers is not None:
        _named_modules_checked(model, rules.layers, "rules.layers")
    _named_modules_checked(model, rules.overrides, "rules.overrides")
    convs = eligible_convs(model)
    chosen = [
        (n, m)
        for n, m in convs.items()
        if (rules.layers is None or n in rules.layers)
        and n not in rules.exclude
        and m.in_channels >= rules.min_in_channels
    ]
    if not chosen and not allow_empty:
        raise ValueError(
            f"no eligible layer to prune: the model has {len(convs)} 3x3 groups=1 Conv2d layers "
            f"({', '.join(convs) or 'none'}) and the rules leave none"
        )
    plans = []
    for i, (name, m) in enumerate(chosen):
        ratio = connectivity
        if m.in_channels < rules.connectivity_min_in_channels:
            ratio = 1.0
        if i == 0 and rules.first is not None:
            ratio = check_ratio(rules.first, "rules.first")
        if i == len(chosen) - 1 and rules.last is not None:
            ratio = check_ratio(rules.last, "rules.last")
        if name in rules.overrides:
            ratio = check_ratio(rules.overrides[name], f"rules.overrides[{name!r}]")
        if not torch.isfinite(m.weight).all():
            raise ValueError(f"layer {name!r} has NaN or inf weights; cannot prune it")
        plans.append(LayerPlan(name, m, ratio))
    return plans
