"""Fast neural style transfer network of Johnson, Alahi & Fei-Fei, "Perceptual Losses for
Real-Time Style Transfer and Super-Resolution" (ECCV 2016), the generative network behind the
CoCoPIE style-transfer demo.

Layout (supplementary material of the paper): 9x9 conv 32 -> 3x3/2 conv 64 -> 3x3/2 conv 128 ->
five residual blocks of two 3x3 convs (128) -> two x2 upsampling stages (64, 32) -> 9x9 conv 3 ->
tanh, rescaled to [0, 1].

Two deliberate departures, both so that the compiled network is convs and nothing else:
- Normalisation is BatchNorm, not the instance norm of the widely used later variant (Ulyanov
  et al., "Instance Normalization", 2016; PyTorch's examples/fast_neural_style). Instance norm
  computes statistics of each image at run time and cannot be folded; BatchNorm in eval mode is
  a per-channel affine map that the compiler folds into the preceding conv. (Johnson et al.
  themselves used batch normalisation.)
- Upsampling is nearest-neighbour x2 followed by a 3x3 conv instead of a fractionally strided
  (transposed) conv: it avoids checkerboard artefacts (Odena et al., "Deconvolution and
  Checkerboard Artifacts", Distill 2016) and makes every 3x3 layer an ordinary conv that
  pattern pruning and the pattern compiler handle.
Padding is zero padding inside each conv (the reference implementations use reflection padding,
which would add a non-conv op in front of every layer).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ResidualBlock", "StyleTransferNet"]


def _conv_bn_relu(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class ResidualBlock(nn.Module):
    """3x3 conv -> BN -> ReLU -> 3x3 conv -> BN, plus the input (no ReLU after the add)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        return x + self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))


class StyleTransferNet(nn.Module):
    """RGB image in [0, 1] (N, 3, H, W), H and W multiples of 4 -> stylised image, same shape."""

    def __init__(self, channels: tuple[int, int, int] = (32, 64, 128), num_residual: int = 5):
        super().__init__()
        a, b, c = channels
        self.down = nn.Sequential(
            _conv_bn_relu(3, a, 9),
            _conv_bn_relu(a, b, 3, stride=2),
            _conv_bn_relu(b, c, 3, stride=2),
        )
        self.residual = nn.Sequential(*(ResidualBlock(c) for _ in range(num_residual)))
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            _conv_bn_relu(c, b, 3),
            nn.Upsample(scale_factor=2, mode="nearest"),
            _conv_bn_relu(b, a, 3),
        )
        self.out = nn.Conv2d(a, 3, 9, padding=4)

    def forward(self, x):
        y = self.out(self.up(self.residual(self.down(x))))
        return torch.tanh(y) * 0.5 + 0.5
