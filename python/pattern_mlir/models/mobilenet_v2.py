"""MobileNet-V2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
CVPR 2018).

Inverted residual blocks: 1x1 expand (x t) -> ReLU6 -> 3x3 depthwise -> ReLU6 -> 1x1 linear
projection, with an identity add when stride is 1 and widths match. The layout and names follow
torchvision (`features.<i>.conv`, `classifier`), one of the three networks PatDNN (Niu et al.,
ASPLOS 2020) reports. Its 3x3 convs are depthwise (groups == channels) apart from the stem, so
pattern pruning has little to act on here; the model is in the zoo to show that the compiler
still runs such a network end to end and what dense-path performance it gets.
"""

from __future__ import annotations

from torch import nn

__all__ = ["ConvBNReLU6", "InvertedResidual", "MobileNetV2", "make_divisible"]

# (expansion t, output channels c, repeats n, first stride s), Table 2 of the paper.
SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round a scaled width to a multiple of `divisor`, never more than 10% below `v`."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class ConvBNReLU6(nn.Sequential):
    """Conv (padding keeps size at stride 1) -> BatchNorm -> ReLU6."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """Expand (skipped when t == 1) -> depthwise 3x3 -> linear 1x1 projection; `.conv` holds them."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.use_residual = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNReLU6(cin, hidden, kernel=1))
        layers += [
            ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_residual else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNet-V2 classifier; `width_mult` scales every width (rounded by `make_divisible`).

    `cifar_stride=True` makes the stem and the second stage stride 1 (the usual CIFAR-10 form),
    so a 32x32 input ends at 4x4 instead of 1x1.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        width_mult: float = 1.0,
        in_channels: int = 3,
        dropout: float = 0.2,
        cifar_stride: bool = False,
    ):
        super().__init__()
        cin = make_divisible(32 * width_mult)
        last = make_divisible(1280 * max(1.0, width_mult))
        layers: list[nn.Module] = [ConvBNReLU6(in_channels, cin, stride=1 if cifar_stride else 2)]
        for i, (t, c, n, s) in enumerate(SETTINGS):
            cout = make_divisible(c * width_mult)
            if cifar_stride and i == 1:
                s = 1
            for j in range(n):
                layers.append(InvertedResidual(cin, cout, s if j == 0 else 1, t))
                cin = cout
        layers.append(ConvBNReLU6(cin, last, kernel=1))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))
