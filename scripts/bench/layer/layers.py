"""The benchmarked conv layers and their synthetic pattern-pruned weights.

Every worker process rebuilds a layer from its name alone, so the weights must come from fixed
seeds: one pattern library for the whole run (a network shares one library) and one generator
per layer, seeded by the layer's position in ``LAYERS``. Dense peers get the same projected
weights, zeros included, so all runtimes compute the same function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pattern_mlir.codegen.synthetic import random_layer, random_library

__all__ = ["LAYERS", "Layer", "LayerData", "make_layer"]


@dataclass(frozen=True)
class Layer:
    """One 3x3 conv (batch 1, fp32): ``count`` is how often the shape occurs in its network."""

    name: str
    net: str
    in_channels: int
    out_channels: int
    height: int
    width: int
    stride: int = 1
    padding: int = 1
    count: int = 1

    @property
    def out_hw(self) -> tuple[int, int]:
        ho = (self.height + 2 * self.padding - 3) // self.stride + 1
        wo = (self.width + 2 * self.padding - 3) // self.stride + 1
        return ho, wo

    @property
    def dense_macs(self) -> int:
        ho, wo = self.out_hw
        return self.out_channels * self.in_channels * 9 * ho * wo

    def shape_text(self) -> str:
        s = f" s{self.stride}" if self.stride != 1 else ""
        return f"{self.in_channels}->{self.out_channels} {self.height}x{self.width}{s}"


def _vgg() -> list[Layer]:
    plan = [(1, 3, 64, 224), (1, 64, 64, 224), (2, 64, 128, 112), (2, 128, 128, 112)]
    plan += [(3, 128, 256, 56), (3, 256, 256, 56), (3, 256, 256, 56)]
    plan += [(4, 256, 512, 28), (4, 512, 512, 28), (4, 512, 512, 28)]
    plan += [(5, 512, 512, 14)] * 3
    layers, seen = [], {}
    for stage, c, o, hw in plan:
        seen[stage] = seen.get(stage, 0) + 1
        layers.append(Layer(f"vgg_conv{stage}_{seen[stage]}", "VGG-16", c, o, hw, hw))
    return layers


# torchvision's ResNet-50 (v1.5): the stride sits on the 3x3 conv of each stage's first block.
_RESNET = [
    Layer("r50_3x3_64", "ResNet-50", 64, 64, 56, 56, count=3),
    Layer("r50_3x3_128s2", "ResNet-50", 128, 128, 56, 56, stride=2),
    Layer("r50_3x3_128", "ResNet-50", 128, 128, 28, 28, count=3),
    Layer("r50_3x3_256s2", "ResNet-50", 256, 256, 28, 28, stride=2),
    Layer("r50_3x3_256", "ResNet-50", 256, 256, 14, 14, count=5),
    Layer("r50_3x3_512s2", "ResNet-50", 512, 512, 14, 14, stride=2),
    Layer("r50_3x3_512", "ResNet-50", 512, 512, 7, 7, count=2),
]

LAYERS: dict[str, Layer] = {layer.name: layer for layer in _vgg() + _RESNET}


@dataclass(frozen=True)
class LayerData:
    """Weights (pattern-projected, dense layout), their pattern assignment, bias and input."""

    layer: Layer
    library: np.ndarray
    weights: np.ndarray
    assignment: np.ndarray
    bias: np.ndarray
    x: np.ndarray

    @property
    def kept_macs(self) -> int:
        ho, wo = self.layer.out_hw
        taps = int(self.library[0].sum())
        return int((self.assignment >= 0).sum()) * taps * ho * wo


def make_layer(name: str, patterns: int = 8, connectivity: float = 3.6) -> LayerData:
    """The layer ``name`` with random weights projected onto ``patterns`` patterns."""
    layer = LAYERS[name]
    library = random_library(patterns, np.random.default_rng(0))
    rng = np.random.default_rng([1, list(LAYERS).index(name)])
    weights, assignment = random_layer(
        layer.out_channels, layer.in_channels, library, connectivity, rng
    )
    bias = rng.standard_normal(layer.out_channels).astype(np.float32)
    x = rng.standard_normal((1, layer.in_channels, layer.height, layer.width)).astype(np.float32)
    return LayerData(layer, library, weights, assignment, bias, x)
