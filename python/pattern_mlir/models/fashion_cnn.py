"""A small VGG-style CNN for 1x28x28 inputs (Fashion-MNIST): six 3x3 conv + BatchNorm + ReLU.

Layout (widths a, b, c; default 32, 64, 128):
  conv1 1->a @28 | pool | conv2 a->a, conv3 a->b @14 | pool | conv4 b->b, conv5 b->c, conv6 c->c @7
  | global average pool | linear c->10.
Pooling right after conv1 keeps the cost of a training epoch low (measured: docs/design.md,
section 10) while the five wide layers, where pattern pruning matters, keep VGG's shape. Conv
bias is off because BatchNorm follows; the compiler folds BatchNorm into the conv.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

__all__ = ["ConvBNReLU", "FashionCNN"]


class ConvBNReLU(nn.Module):
    """3x3 conv (padding 1, no bias) -> BatchNorm -> ReLU; the conv is `.conv`."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class FashionCNN(nn.Module):
    """VGG-style classifier; conv layers are named features.conv1.conv ... features.conv6.conv."""

    def __init__(
        self,
        widths: tuple[int, int, int] = (32, 64, 128),
        num_classes: int = 10,
        in_channels: int = 1,
    ):
        super().__init__()
        a, b, c = widths
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("conv1", ConvBNReLU(in_channels, a)),
                    ("pool1", nn.MaxPool2d(2)),
                    ("conv2", ConvBNReLU(a, a)),
                    ("conv3", ConvBNReLU(a, b)),
                    ("pool2", nn.MaxPool2d(2)),
                    ("conv4", ConvBNReLU(b, b)),
                    ("conv5", ConvBNReLU(b, c)),
                    ("conv6", ConvBNReLU(c, c)),
                ]
            )
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))
