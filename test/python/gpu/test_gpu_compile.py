"""Models through `pattern_mlir.compile(..., target="vulkan-adreno")` against torch on the
default Vulkan device (lavapipe here): the whole pipeline, from the torch import to SPIR-V."""

from __future__ import annotations

import pattern_mlir
import pytest
import torch
import torch.nn.functional as F
from pattern_mlir import prune
from pattern_mlir.runtime.vulkan import VulkanUnavailableError
from torch import nn


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got - want).abs().max() / want.abs().max().clamp_min(1e-6))


def compile_for_gpu(model, *inputs, options=None):
    try:
        return pattern_mlir.compile(model, inputs, target="vulkan-adreno", options=options)
    except VulkanUnavailableError as error:
        pytest.skip(f"no Vulkan driver: {error}")


class EncoderDecoder(nn.Module):
    """3x3 convs, a stride-2 encoder, nearest upsampling, a skip joined by concat, sigmoid."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(3, 16, 3, padding=1)
        self.enc2 = nn.Conv2d(16, 32, 3, padding=1, stride=2)
        self.dec = nn.Conv2d(32, 16, 3, padding=1)
        self.out = nn.Conv2d(32, 2, 3, padding=1)

    def forward(self, x):
        skip = F.relu(self.enc1(x))
        deep = F.relu(self.dec(F.relu(self.enc2(skip))))
        up = F.interpolate(deep, scale_factor=2, mode="nearest")
        return torch.sigmoid(self.out(torch.cat([skip, up], dim=1)))


def test_encoder_decoder_matches_torch():
    """Nearest upsampling computes its source index in i64 (torch-mlir's lowering); the
    Adreno profile has no Int64, so the kernel must do it in 32 bits."""
    torch.manual_seed(0)
    model = EncoderDecoder().eval()
    prune.project(model, num_patterns=4, connectivity=2.0)
    x = torch.randn(1, 3, 16, 20)
    exe = compile_for_gpu(model, x)
    assert relative_error(exe(x), model(x).detach()) <= 1e-3
    assert exe.ir("packed").count("pattern.packed_conv2d ") >= 2
