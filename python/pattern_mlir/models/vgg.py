"""VGG-16 (Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015), configuration D: thirteen 3x3 convs in five stages, then three linear
layers.

PatDNN (Niu et al., ASPLOS 2020) evaluates pattern pruning on VGG-16 for both ImageNet (224x224)
and CIFAR-10 (32x32), so one class serves both: `avgpool` is an adaptive average pool whose output
side is 7 for inputs of 224 and up (the ImageNet classifier, where it is an identity on the 7x7
feature map) and 1 below (a 32x32 input leaves a 1x1 map; pooling to 7x7 would only replicate
it and multiply the first linear layer by 49). BatchNorm after every conv is on by default
(the usual trainable CIFAR form, and the compiler folds it into the conv at inference); pass
`batch_norm=False` for the original network.
"""

from __future__ import annotations

from torch import nn

__all__ = ["VGG16", "VGG16_CONFIG"]

# Output channels of each 3x3 conv; "M" is a 2x2 max pool.
VGG16_CONFIG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)  # fmt: skip


def _features(in_channels: int, batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    cin = in_channels
    for v in VGG16_CONFIG:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        layers.append(nn.Conv2d(cin, v, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        cin = v
    return nn.Sequential(*layers)


class VGG16(nn.Module):
    """VGG-16 for `input_size` x `input_size` images (any multiple of 32).

    Layout follows torchvision's `vgg16_bn` (features / avgpool / classifier), so conv layers are
    `features.<i>`. `hidden` is the width of the two hidden linear layers (4096 in the paper).
    """

    def __init__(
        self,
        num_classes: int = 1000,
        input_size: int = 224,
        in_channels: int = 3,
        batch_norm: bool = True,
        hidden: int = 4096,
        dropout: float = 0.5,
    ):
        super().__init__()
        if input_size % 32:
            raise ValueError(f"VGG16 input_size must be a multiple of 32, got {input_size}")
        pool = 7 if input_size >= 224 else 1
        self.features = _features(in_channels, batch_norm)
        self.avgpool = nn.AdaptiveAvgPool2d(pool)
        self.classifier = nn.Sequential(
            nn.Linear(512 * pool * pool, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))
