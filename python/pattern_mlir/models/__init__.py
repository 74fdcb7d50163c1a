"""The model zoo: every network the project compiles, by name, with a default input.

The three classifiers of PatDNN's evaluation (VGG-16, ResNet-50, MobileNet-V2) and the three
CoCoPIE demo applications (style transfer, colorization, super resolution), written here as plain
PyTorch because torchvision does not import beside the pinned torch, plus the small
Fashion-MNIST CNN that the pruning work trains, a bottleneck CNN with 1x1 layers, and non-CNNs
at Fashion-MNIST size: a patch transformer and a row-by-row LSTM (RowRNN(cell="gru") for a
GRU). All of them import through torch-mlir's FX importer to linalg-on-tensors
(test/python/models/test_models.py checks it).

    from pattern_mlir.models import MODELS, build
    model, x = build("resnet50", small=True)   # eval mode, 1x3x32x32 input
    model, x = build("vgg16", num_classes=10, input_shape=(1, 3, 32, 32))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .colorization import ColorizationNet
from .fashion_bottleneck import FashionBottleneckCNN
from .fashion_cnn import FashionCNN
from .init import randomize_batchnorm
from .macs import count_macs
from .mobilenet_v2 import MobileNetV2
from .patch_transformer import PatchTransformer
from .resnet import ResNet50
from .row_rnn import RowRNN
from .style_transfer import StyleTransferNet
from .super_resolution import SuperResolutionNet
from .vgg import VGG16

__all__ = ["MODELS", "ModelInfo", "build", "count_macs", "randomize_batchnorm"]

Shape = tuple[int, int, int, int]


@dataclass(frozen=True)
class ModelInfo:
    """One zoo entry.

    `input_shape` is the default (N, C, H, W); `small_shape` a small input of the same model for
    tests and quick checks. `size_arg`, when set, names the constructor keyword that must match
    the input's spatial side (models whose linear layers depend on it); `build` fills it in.
    """

    name: str
    constructor: Callable[..., nn.Module]
    input_shape: Shape
    small_shape: Shape
    description: str
    size_arg: str | None = None


MODELS: dict[str, ModelInfo] = {
    info.name: info
    for info in (
        ModelInfo(
            "vgg16", VGG16, (1, 3, 224, 224), (1, 3, 32, 32),
            "VGG-16 with BatchNorm (Simonyan & Zisserman 2015); 13 dense 3x3 convs",
            size_arg="input_size",
        ),
        ModelInfo(
            "resnet50", ResNet50, (1, 3, 224, 224), (1, 3, 32, 32),
            "ResNet-50, bottleneck blocks 3-4-6-3 (He et al. 2016)",
        ),
        ModelInfo(
            "mobilenet-v2", MobileNetV2, (1, 3, 224, 224), (1, 3, 32, 32),
            "MobileNet-V2, inverted residuals, depthwise 3x3, ReLU6 (Sandler et al. 2018)",
        ),
        ModelInfo(
            "style-transfer", StyleTransferNet, (1, 3, 256, 256), (1, 3, 32, 32),
            "Fast style transfer (Johnson et al. 2016), BatchNorm, upsample + conv",
        ),
        ModelInfo(
            "colorization", ColorizationNet, (1, 1, 224, 224), (1, 1, 64, 64),
            "Colorization fusing global and local features (Iizuka et al. 2016), L -> ab",
            size_arg="input_size",
        ),
        ModelInfo(
            "super-resolution", SuperResolutionNet, (1, 3, 128, 128), (1, 3, 32, 32),
            "WDSR-B super resolution (x2 by default), wide activation + low-rank 1x1 (Yu et al. 2018)",
        ),
        ModelInfo(
            "fashion-cnn", FashionCNN, (1, 1, 28, 28), (1, 1, 28, 28),
            "Six-conv VGG-style CNN for Fashion-MNIST, the project's trainable model",
        ),
        ModelInfo(
            "fashion-bottleneck", FashionBottleneckCNN, (1, 1, 28, 28), (1, 1, 28, 28),
            "Three-bottleneck CNN for Fashion-MNIST: 3x3 and 1x1 convs (block sparsity, issue 18)",
        ),
        ModelInfo(
            "patch-transformer", PatchTransformer, (1, 1, 28, 28), (1, 1, 28, 28),
            "Vision transformer over 7x7 patches: 2 pre-norm nn.TransformerEncoderLayers, 4 heads",
            size_arg="image_size",
        ),
        ModelInfo(
            "row-lstm", RowRNN, (1, 1, 28, 28), (1, 1, 28, 28),
            "Two-layer LSTM over an image's rows, linear head on the last step",
            size_arg="image_size",
        ),
    )
}  # fmt: skip


def build(
    name: str,
    *,
    input_shape: Shape | None = None,
    small: bool = False,
    seed: int = 0,
    random_bn: bool = False,
    **kwargs,
) -> tuple[nn.Module, torch.Tensor]:
    """Construct zoo model `name` in eval mode with an example input.

    The input has `input_shape`, else the entry's `small_shape` if `small`, else its default
    shape; its values are uniform in [0, 1) (the image models take images in [0, 1]). `kwargs`
    go to the constructor (e.g. num_classes=10, scale=4). Weights and input are drawn from
    `seed` without touching the global RNG, so equal arguments give equal models. `random_bn`
    gives BatchNorm random statistics (see `init.randomize_batchnorm`) for numerics checks.
    """
    try:
        info = MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None
    shape = tuple(input_shape or (info.small_shape if small else info.input_shape))
    if info.size_arg and info.size_arg not in kwargs:
        if shape[2] != shape[3]:
            raise ValueError(f"{name} needs a square input, got {shape}")
        kwargs[info.size_arg] = shape[2]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = info.constructor(**kwargs)
        x = torch.rand(shape)
    if random_bn:
        randomize_batchnorm(model, seed)
    return model.eval(), x
