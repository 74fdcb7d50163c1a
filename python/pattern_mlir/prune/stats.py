"""What pruning buys: conv multiply-accumulates and weight bytes, dense vs pattern-pruned.

MACs count every Conv2d (pruned or not) at its real output size, found with forward hooks on one
example input. Pruned layers cost kept taps x output pixels. Weight bytes of a pruned layer follow
the compiler's packed format (docs/design.md section 5): 4 B per kept weight, a 4 B input-channel index
per kept kernel, and a 4 B offset per (filter, pattern); dense layers store 4 B per weight.
Block-pruned convs (spec.blocks) cost kept weights x output pixels; their bytes are estimated as
4 B per kept weight, a 4 B column index per kept block and a 4 B offset per row block (the
compiler's packing may be smaller).
"""

from __future__ import annotations

import torch
from torch import nn

from .spec import PruneSpec

__all__ = ["conv_costs"]


@torch.no_grad()
def conv_costs(model: nn.Module, example: torch.Tensor, spec: PruneSpec | None = None) -> dict:
    """{'dense_macs', 'macs', 'dense_bytes', 'bytes'} over all Conv2d layers of `model`."""
    pixels: dict[str, int] = {}
    hooks = [
        m.register_forward_hook(
            lambda mod, inp, out, n=n: pixels.__setitem__(n, out.shape[-2] * out.shape[-1])
        )
        for n, m in model.named_modules()
        if isinstance(m, nn.Conv2d)
    ]
    was_training = model.training
    model.eval()
    try:
        model(example[:1])
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    modules = dict(model.named_modules())
    out = {"dense_macs": 0, "macs": 0, "dense_bytes": 0, "bytes": 0}
    for name, px in pixels.items():
        w = modules[name].weight
        out["dense_macs"] += w.numel() * px
        out["dense_bytes"] += 4 * w.numel()
        s = spec.layers.get(name) if spec is not None else None
        b = spec.blocks.get(f"{name}.weight") if spec is not None else None
        if b is not None:
            out["macs"] += b.kept_weights * px
            out["bytes"] += 4 * b.kept_weights + 4 * b.kept_blocks + 4 * (b.row_blocks + 1)
        elif s is None:
            out["macs"] += w.numel() * px
            out["bytes"] += 4 * w.numel()
        else:
            taps = int(s.mask().sum())
            out["macs"] += taps * px
            out["bytes"] += (
                4 * taps + 4 * s.kept_kernels + 4 * s.assignment.shape[0] * len(s.library)
            )
    return out
