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


# -- whole networks (CIFAR-style 32x32 inputs; report and opt-in slow tests) -----------


VGG16_CONFIG = (
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    "M",
)


class Vgg16(nn.Module):
    """VGG-16 with BatchNorm, CIFAR head (13 3x3 convs, 5 max pools, one linear)."""

    def __init__(self, classes=10):
        super().__init__()
        layers, cin = [], 3
        for v in VGG16_CONFIG:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU()]
                cin = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        cout = 4 * width
        self.body = nn.Sequential(
            nn.Conv2d(cin, width, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            *_conv_bn_relu(width, width, stride),
            nn.Conv2d(width, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNet50(nn.Module):
    """ResNet-50 (bottlenecks 3-4-6-3) with a CIFAR stem (one 3x3 conv, no max pool)."""

    def __init__(self, classes=10):
        super().__init__()
        layers = [*_conv_bn_relu(3, 64)]
        cin = 64
        for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            for i in range(blocks):
                layers.append(Bottleneck(cin, width, stride if i == 0 else 1))
                cin = 4 * width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(cin, classes)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class MobileNetV2(nn.Module):
    """MobileNet-V2 (width 1.0) with a CIFAR stem (stride 1)."""

    SETTINGS = (
        (1, 16, 1, 1),
        (6, 24, 2, 1),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    )

    def __init__(self, classes=10):
        super().__init__()
        layers = [*_conv_bn_relu(3, 32, relu6=True)]
        cin = 32
        for expand, cout, repeats, stride in self.SETTINGS:
            for i in range(repeats):
                layers.append(_MbBlock(cin, cout, expand, stride if i == 0 else 1))
                cin = cout
        layers += [nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(1280, classes)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class _MbBlock(nn.Module):
    def __init__(self, cin, cout, expand, stride):
        super().__init__()
        hidden = cin * expand
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.block(x) if self.residual else self.block(x)


NETWORKS = {
    "vgg16": (Vgg16, (1, 3, 32, 32)),
    "resnet50": (ResNet50, (1, 3, 32, 32)),
    "mobilenet_v2": (MobileNetV2, (1, 3, 32, 32)),
}


def make_network(name: str, seed: int = 0):
    """(model in eval mode, example input) of a NETWORKS entry, deterministic per seed."""
    cls, shape = NETWORKS[name]
    torch.manual_seed(seed)
    model = cls().eval()
    gen = torch.Generator().manual_seed(seed + 1)
    randomize_batchnorm(model, gen)
    return model, torch.randn(*shape, generator=gen)
