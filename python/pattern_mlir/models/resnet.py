"""ResNet-50 (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016), bottleneck
blocks in stages of 3, 4, 6, 3.

The layout is torchvision's (the "v1.5" variant: a stage's stride sits on the bottleneck's 3x3
conv, not its first 1x1), so names (`layer3.2.conv2`, ...) match the checkpoints and papers that
PatDNN (Niu et al., ASPLOS 2020) compares against. Every bottleneck's middle conv is a dense 3x3,
which is where pattern pruning acts; the 1x1 convs only get connectivity pruning.
`cifar_stem=True` swaps the 7x7/2 conv + max pool for one 3x3/1 conv, the usual CIFAR-10 form,
so a 32x32 input is not reduced to 8x8 before the first stage.
"""

from __future__ import annotations

from torch import nn

__all__ = ["Bottleneck", "ResNet50"]


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (stride here) -> 1x1 expand (x4), BatchNorm after each, identity add."""

    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1):
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    """ResNet-50 classifier: stem, layer1..layer4, global average pool, `fc`."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, cifar_stem: bool = False):
        super().__init__()
        if cifar_stem:
            self.conv1 = nn.Conv2d(in_channels, 64, 3, padding=1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        cin = 64
        stages = []
        for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            layers = []
            for i in range(blocks):
                layers.append(Bottleneck(cin, width, stride if i == 0 else 1))
                cin = width * Bottleneck.expansion
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))
