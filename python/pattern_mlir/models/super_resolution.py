"""Super-resolution network after WDSR-B (Yu et al., "Wide Activation for Efficient and Accurate
Image Super-Resolution", 2018; winner of NTIRE 2018 tracks), the network behind the CoCoPIE
super-resolution demo: residual blocks with wide activation and linear low-rank convolution.

Each block is 1x1 conv expanding to `expand` x features -> ReLU -> 1x1 linear low-rank conv to
`low_rank` x features -> 3x3 conv back to the feature width, plus the input. ReLU sits only on
the wide tensor, which is the paper's point: more channels before the activation for the same
cost. Head: 3x3 conv; tail: 3x3 conv to 3 * scale^2 channels + pixel shuffle; a global skip of
a 5x5 conv + pixel shuffle from the input, as in the authors' release. Defaults (16 blocks, 32
features, expand 6, low rank 0.8) are the usual WDSR-B settings of the paper's experiments.

Weight normalisation (used by the paper for training) is left out: it is a reparametrisation of
each conv's weight that folds away at inference. Inputs are RGB in [0, 1]; the DIV2K channel mean
is subtracted at the input and added back at the output. `nn.PixelShuffle` lowers through
torch-mlir's linalg-on-tensors path (to reshapes and a transpose), so it is used as is.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SuperResolutionNet", "WDSRBlock"]

DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


class WDSRBlock(nn.Module):
    """x + 3x3(1x1_lowrank(relu(1x1_expand(x)))) * res_scale."""

    def __init__(self, features: int, expand: int = 6, low_rank: float = 0.8, res_scale=1.0):
        super().__init__()
        wide, narrow = features * expand, int(features * low_rank)
        self.expand = nn.Conv2d(features, wide, 1)
        self.relu = nn.ReLU(inplace=True)
        self.reduce = nn.Conv2d(wide, narrow, 1)
        self.conv = nn.Conv2d(narrow, features, 3, padding=1)
        self.res_scale = res_scale

    def forward(self, x):
        res = self.conv(self.reduce(self.relu(self.expand(x))))
        return x + res * self.res_scale if self.res_scale != 1.0 else x + res


class SuperResolutionNet(nn.Module):
    """RGB (N, 3, H, W) in [0, 1] -> (N, 3, H * scale, W * scale); scale 2, 3 or 4."""

    def __init__(
        self,
        scale: int = 2,
        features: int = 32,
        num_blocks: int = 16,
        expand: int = 6,
        low_rank: float = 0.8,
        res_scale: float = 1.0,
    ):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"SuperResolutionNet scale must be 2, 3 or 4, got {scale}")
        out = 3 * scale * scale
        self.register_buffer("rgb_mean", torch.tensor(DIV2K_RGB_MEAN).view(1, 3, 1, 1))
        self.head = nn.Conv2d(3, features, 3, padding=1)
        self.body = nn.Sequential(
            *(WDSRBlock(features, expand, low_rank, res_scale) for _ in range(num_blocks))
        )
        self.tail = nn.Sequential(nn.Conv2d(features, out, 3, padding=1), nn.PixelShuffle(scale))
        self.skip = nn.Sequential(nn.Conv2d(3, out, 5, padding=2), nn.PixelShuffle(scale))

    def forward(self, x):
        x = x - self.rgb_mean
        y = self.tail(self.body(self.head(x))) + self.skip(x)
        return y + self.rgb_mean
