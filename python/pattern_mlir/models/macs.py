"""Multiply-accumulate counts per layer, measured by running the model once with forward hooks.

Reports need to know where the work is: pattern pruning only shrinks dense 3x3 convs
(groups == 1), so their share of the MACs bounds what the pattern compiler can win on a model
(most of VGG-16, little of MobileNet-V2). Counting on a real forward pass, not from the module
tree, gets spatial sizes right for any input and counts a module called twice twice.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["count_macs", "layer_kind"]


def layer_kind(m: nn.Module) -> str:
    """'conv3x3' (dense 3x3, what pattern pruning acts on), 'conv_other' (1x1, depthwise, 9x9,
    ...) or 'linear'."""
    if isinstance(m, nn.Linear):
        return "linear"
    if m.kernel_size == (3, 3) and m.groups == 1:
        return "conv3x3"
    return "conv_other"


def _macs(m: nn.Module, out: torch.Tensor) -> int:
    if isinstance(m, nn.Linear):
        return out.numel() * m.in_features
    kh, kw = m.kernel_size
    return out.numel() * (m.in_channels // m.groups) * kh * kw


@torch.no_grad()
def count_macs(model: nn.Module, x: torch.Tensor) -> dict:
    """MACs of every Conv2d and Linear of `model` on input `x` (bias adds are not counted).

    Returns {"layers": {name: {"kind", "kernel", "groups", "out_shape", "macs"}},
    "conv3x3": int, "conv_other": int, "linear": int, "total": int}; layers appear in call order.
    The model runs in its current mode; call `.eval()` first for inference numbers.
    """
    layers: dict[str, dict] = {}
    handles = []

    def hook(name):
        def record(m, _inputs, out):
            entry = layers.setdefault(
                name,
                {
                    "kind": layer_kind(m),
                    "kernel": tuple(getattr(m, "kernel_size", (1, 1))),
                    "groups": getattr(m, "groups", 1),
                    "out_shape": tuple(out.shape),
                    "macs": 0,
                },
            )
            entry["macs"] += _macs(m, out)

        return record

    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            handles.append(m.register_forward_hook(hook(name)))
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    totals = {k: sum(e["macs"] for e in layers.values() if e["kind"] == k)
              for k in ("conv3x3", "conv_other", "linear")}  # fmt: skip
    return {"layers": layers, **totals, "total": sum(totals.values())}
