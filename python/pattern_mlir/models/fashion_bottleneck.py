"""A small bottleneck CNN for 1x28x28 inputs (Fashion-MNIST): 3x3 convs and 1x1 convs together.

Layout (ResNet-style bottlenecks, He et al. 2016, at toy size; width w, default 24):
  stem 3x3 1->w @28 | pool | bottleneck w -> w*3/2 -> 4w, projection shortcut, @14 | pool
  | bottleneck 4w -> 2w -> 8w, projection shortcut, @7 | bottleneck 8w -> 2w -> 8w, identity, @7
  | global average pool | linear 8w->10.
Each bottleneck is 1x1 reduce, 3x3, 1x1 expand (each conv + BatchNorm, ReLU after the sum).
The 3x3 convs are what pattern pruning takes; the 1x1 convs of at least 4096 weights (5 of the
8 at w=24: 4608..18432 weights, in blocks 2 and 3) are what block pruning takes (issue 18). About 8 M
multiply-accumulates per image (FashionCNN(24, 48, 96): 10 M); a training epoch's time is in
docs/design.md, section 10.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

__all__ = ["FashionBottleneckBlock", "FashionBottleneckCNN"]


def _conv_bn(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(
        OrderedDict(
            [
                ("conv", nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)),
                ("bn", nn.BatchNorm2d(cout)),
            ]
        )
    )


class FashionBottleneckBlock(nn.Module):
    """1x1 reduce -> 3x3 -> 1x1 expand, plus a shortcut (1x1 conv + BN when widths differ)."""

    def __init__(self, cin: int, mid: int, cout: int):
        super().__init__()
        self.reduce = _conv_bn(cin, mid, 1)
        self.conv = _conv_bn(mid, mid, 3)
        self.expand = _conv_bn(mid, cout, 1)
        self.shortcut = _conv_bn(cin, cout, 1) if cin != cout else nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.relu(self.reduce(x))
        y = self.relu(self.conv(y))
        return self.relu(self.expand(y) + self.shortcut(x))


class FashionBottleneckCNN(nn.Module):
    """Bottleneck classifier; 1x1 convs are block1.reduce.conv, block1.expand.conv, ..."""

    def __init__(self, width: int = 24, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        w = width
        self.stem = _conv_bn(in_channels, w, 3)
        self.relu = nn.ReLU(inplace=True)
        self.pool1 = nn.MaxPool2d(2)
        self.block1 = FashionBottleneckBlock(w, w * 3 // 2, 4 * w)
        self.pool2 = nn.MaxPool2d(2)
        self.block2 = FashionBottleneckBlock(4 * w, 2 * w, 8 * w)
        self.block3 = FashionBottleneckBlock(8 * w, 2 * w, 8 * w)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(8 * w, num_classes)

    def forward(self, x):
        x = self.pool1(self.relu(self.stem(x)))
        x = self.pool2(self.block1(x))
        x = self.block3(self.block2(x))
        return self.classifier(self.pool(x).flatten(1))
