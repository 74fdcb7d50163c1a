"""Keep pruned weights exactly zero while an optimizer trains the rest.

Masking only the gradient is not enough: SGD momentum or Adam state left over from dense training
moves a zero weight, and decoupled weight decay or numerical noise can too. So the enforcer does
three things: it masks gradients as they are computed (a tensor hook), and after *every*
optimizer.step() (a step post-hook, so it also covers loops the caller writes) it re-applies the
mask to the weights and zeroes the optimizer's per-parameter state at pruned positions.
"""

from __future__ import annotations

from typing import Self

import torch
from torch import nn

from .spec import PruneSpec

__all__ = ["MaskEnforcer"]


class MaskEnforcer:
    """Enforce `spec` on `model` for `optimizer`; use as a context manager or call remove()."""

    def __init__(
        self, model: nn.Module, spec: PruneSpec, optimizer: torch.optim.Optimizer | None = None
    ):
        params = dict(model.named_parameters(remove_duplicate=False))
        self.pairs: list[tuple[torch.Tensor, torch.Tensor]] = []
        for name, mask in spec.weight_masks().items():  # pattern layers and block layers
            w = params[name]
            self.pairs.append((w, mask.to(device=w.device, dtype=w.dtype)))
        self._handles = [w.register_hook(lambda g, m=m: g * m) for w, m in self.pairs]
        self.optimizer = optimizer
        if optimizer is not None:
            self._handles.append(
                optimizer.register_step_post_hook(lambda opt, args, kwargs: self.enforce())
            )
        self.enforce()

    @torch.no_grad()
    def enforce(self) -> None:
        """Zero pruned weights and the optimizer state that would move them."""
        for w, m in self.pairs:
            w.mul_(m)
            if self.optimizer is not None:
                for value in self.optimizer.state.get(w, {}).values():
                    if isinstance(value, torch.Tensor) and value.shape == w.shape:
                        value.mul_(m)

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
