"""Ops torch-mlir lowers to IR that later passes reject, decomposed before the import
(frontend/torch_decompositions.py): cropping with F.pad and grouped transposed convs."""

from __future__ import annotations

import pattern_mlir
import pytest
import torch
from pattern_mlir.testing import relative_error


class Crop(torch.nn.Module):
    def __init__(self, pad: tuple[int, ...]):
        super().__init__()
        self.pad = pad

    def forward(self, x):
        return torch.nn.functional.pad(torch.tanh(x), self.pad, value=0.5) * 2.0


@pytest.mark.parametrize(
    "pad",
    [(-1, 2, 0, -3), (-2, -1), (1, -1, -2, 2, 0, 1), (0, 0, -1, 0), (2, -1, 3, -1, 2, -5)],
    ids=["crop_and_pad", "crop_last", "three_dims", "crop_top", "crop_whole_batch_side"],
)
def test_negative_padding_matches_torch(pad):
    torch.manual_seed(0)
    model, x = Crop(pad).eval(), torch.randn(2, 5, 7, 9)
    exe = pattern_mlir.compile(model, (x,), options=pattern_mlir.CompileOptions(num_threads=1))
    assert relative_error(exe(x), model(x)) <= 1e-5


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
@pytest.mark.parametrize(
    "conv",
    [
        dict(in_channels=6, out_channels=6, kernel_size=3, stride=2, groups=6),
        dict(
            in_channels=8, out_channels=4, kernel_size=4, stride=3, padding=2, dilation=2, groups=2
        ),
        dict(in_channels=6, out_channels=9, kernel_size=2, stride=2, groups=3, bias=False),
    ],
    ids=["depthwise_s2", "g2_s3_p2_d2", "g3_nobias"],
)
def test_grouped_conv_transpose_matches_torch(conv, target):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.ConvTranspose2d(**conv), torch.nn.ReLU()).eval()
    x = torch.randn(2, conv["in_channels"], 5, 6)
    exe = pattern_mlir.compile(model, (x,), target=target)
    with torch.inference_mode():
        want = model(x)
    assert relative_error(exe(x), want) <= 1e-5


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
def test_tanh_gelu_uses_the_exact_constant(target):
    """torch-mlir's lowering of tanh-GELU takes sqrt(2/pi) as 0.797724, 4e-5 off torch's
    results; the decomposition writes it out with the f32 constant."""
    model = torch.nn.GELU(approximate="tanh").eval()
    x = torch.linspace(-6.0, 6.0, 2401).reshape(1, 2401)
    exe = pattern_mlir.compile(model, (x,), target=target)
    with torch.inference_mode():
        want = model(x)
    assert relative_error(exe(x), want) <= 1e-6
