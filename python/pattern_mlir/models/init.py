"""Non-trivial BatchNorm state for randomly initialised models.

A fresh BatchNorm has running mean 0, variance 1, weight 1 and bias 0: in eval mode it is almost
the identity, so a compiler that folds it wrongly (wrong axis, forgotten epsilon, scale applied
to the bias) still matches PyTorch. The zoo's big models have no trained weights here (no
ImageNet, docs/design.md section 3), so numerics checks give them random statistics instead.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["calibrate_batchnorm", "randomize_batchnorm"]


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


@torch.no_grad()
def calibrate_batchnorm(
    model: nn.Module, example: torch.Tensor, samples: int = 8, seed: int = 0
) -> nn.Module:
    """Set every BatchNorm's running statistics to those of the model's own activations on
    `samples` random inputs shaped like `example` (uniform in [0, 1)), then eval mode.

    A randomly initialised and pruned network shrinks its activations layer by layer (pruning
    removes most kernels), until its output hardly depends on its input and any result, even
    one that ignores the input, matches PyTorch's. With statistics of its own activations each
    BatchNorm normalises what it sees, and the output follows the input again. Returns `model`.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return model.eval()
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the calibration batches
    g = torch.Generator().manual_seed(seed)
    batch = torch.rand(
        (samples * example.shape[0], *example.shape[1:]), generator=g, dtype=example.dtype
    )
    model.train()
    try:
        # One batch: a 1x1 map needs more than one value per channel in training mode.
        model(batch)
    except RuntimeError:  # a model that only takes its example's batch size
        for m in norms:
            m.reset_running_stats()
        for sample in batch.split(example.shape[0]):
            model(sample)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.eval()
    return model
