"""Non-trivial BatchNorm state for randomly initialised models.

A fresh BatchNorm has running mean 0, variance 1, weight 1 and bias 0: in eval mode it is almost
the identity, so a compiler that folds it wrongly (wrong axis, forgotten epsilon, scale applied
to the bias) still matches PyTorch. The zoo's big models have no trained weights here (no
ImageNet, DESIGN.md section 3), so numerics checks give them random statistics instead.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["randomize_batchnorm"]


@torch.no_grad()
def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm2d random running statistics and affine parameters near identity.

    Mean and bias ~ N(0, 0.1); variance and weight ~ U(0.5, 1.5), so activation scale stays about
    the same through deep networks. Returns `model`, changed in place.
    """
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            if m.affine:
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)
    return model
