"""Small whole models for the GPU path's numerics tests and report.

Why these three: they cover every op family a pattern-pruned CNN brings besides
the pattern convs themselves: a VGG-style stack (3x3 convs, BatchNorm, ReLU,
max pooling, global average pooling, linear), a ResNet basic block (residual add,
strided 3x3 conv, 1x1 downsample) and a MobileNet-V2 inverted residual block
(1x1 expand/project convs, depthwise 3x3 conv, ReLU6). Sizes are small so that
lavapipe runs them in milliseconds; the structure is what the big models repeat.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(cin, cout, stride=1, relu6=False):
    return [
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6() if relu6 else nn.ReLU(),
    ]


class VggBlocks(nn.Module):
    """Two VGG stages (2 convs each), max pooling, global average pooling, a classifier."""

    def __init__(self, width=16, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1),
            nn.ReLU(),
            *_conv_bn_relu(width, width),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            *_conv_bn_relu(2 * width, 2 * width),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(2 * width, classes)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class ResidualBlock(nn.Module):
    """ResNet basic block: 3x3 (stride s) - BN - ReLU - 3x3 - BN, plus a shortcut."""

    def __init__(self, cin=16, cout=32, stride=2):
        super().__init__()
        self.body = nn.Sequential(
            *_conv_bn_relu(cin, cout, stride),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


class InvertedResidual(nn.Module):
    """MobileNet-V2 block: 1x1 expand - ReLU6 - depthwise 3x3 - ReLU6 - 1x1 project, + x."""

    def __init__(self, channels=16, expand=4, stem=True):
        super().__init__()
        hidden = channels * expand
        self.stem = nn.Sequential(*_conv_bn_relu(3, channels, relu6=True)) if stem else None
        self.block = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x):
        if self.stem is not None:
            x = self.stem(x)
        return x + self.block(x)


def randomize_batchnorm(model: nn.Module, generator: torch.Generator) -> None:
    """Give every BatchNorm non-trivial running statistics (eval-mode numerics test them)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.2, generator=generator)
                m.running_var.uniform_(0.5, 1.5, generator=generator)
                m.weight.uniform_(0.5, 1.5, generator=generator)
                m.bias.normal_(0, 0.2, generator=generator)


SAMPLES = {
    "vgg_blocks": (VggBlocks, (1, 3, 16, 16)),
    "residual_block": (ResidualBlock, (1, 16, 15, 15)),
    "inverted_residual": (InvertedResidual, (1, 3, 12, 12)),
}


def make_sample(name: str, seed: int = 0):
    """(model in eval mode, example input) of a SAMPLES entry, deterministic per seed."""
    cls, shape = SAMPLES[name]
    torch.manual_seed(seed)
    model = cls().eval()
    gen = torch.Generator().manual_seed(seed + 1)
    randomize_batchnorm(model, gen)
    x = torch.randn(*shape, generator=gen)
    return model, x
