"""Dense 3x3 and 5x5 stride-1 convs through Winograd's F(2x2, 3x3) and F(2x2, 5x5)
(passes/dense/winograd.py) against torch: even and odd output sizes (the last tile row or
column half outside), paddings the planes absorb (none, symmetric, asymmetric), a bias or
none, dilation 1 and 2 (four phases), fused ReLU6 and residual adds, one and two threads,
host, x86-64-v3 and arm64; convs with few channels stay direct."""

from __future__ import annotations

import re

import numpy as np
import pattern_mlir
import pytest
import torch
from conv_cases import relative_error
from pattern_mlir.codegen.winograd import transform_weights, winograd_matrices
from torch import nn

# The host's own vectors, AVX2's 8 lanes (any x86-64 host runs them) and NEON's 4 (qemu).
TARGETS = ["host", "x86-64-v3", "arm64-neon"]


class ResidualBlock(nn.Module):
    """conv -> ReLU -> conv + skip -> ReLU: the second conv's epilogue reads a residual."""

    def __init__(self, channels: int):
        super().__init__()
        self.first = nn.Conv2d(channels, channels, 3, padding=1)
        self.second = nn.Conv2d(channels, channels, 3, padding=1, bias=False)

    def forward(self, x):
        y = torch.relu(self.first(x))
        return torch.relu(self.second(y) + y)


def _compiled(model: nn.Module, x: torch.Tensor, target: str, threads: int = 1):
    exe = pattern_mlir.compile(
        model, x, target=target, options=pattern_mlir.CompileOptions(num_threads=threads)
    )
    with torch.no_grad():
        assert relative_error(exe(x), model(x)) <= 1e-5
    return exe


def _winograd_convs(exe) -> int:
    """Convs lowered through the Winograd transforms (each defines an input transform)."""
    return len(re.findall(r"func\.func private @\w+_in\(", exe.ir("dense")))


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    "channels, filters, size, padding, bias, dilation, kernel",
    [
        (16, 16, (8, 8), 1, True, 1, 3),  # even output: whole tiles
        (17, 24, (9, 7), 1, True, 1, 3),  # odd rows and columns
        (20, 17, (11, 13), 0, False, 1, 3),  # no padding, odd filters
        (32, 33, (5, 5), (2, 1), True, 1, 3),  # asymmetric padding: 7 x 5 outputs
        (16, 16, (4, 40), 1, True, 1, 3),  # rows wider than two vectors of tiles
        (16, 16, (12, 12), 2, True, 2, 3),  # dilation 2: four phases of 6 x 6 outputs
        (17, 20, (13, 9), 2, False, 2, 3),  # phases of different sizes (7 and 6 rows)
        (24, 16, (9, 10), (3, 1), True, 2, 3),  # asymmetric padding, dilated
        (16, 16, (6, 70), 2, True, 2, 3),  # phase rows wider than two vectors of tiles
        (16, 16, (12, 12), 2, True, 1, 5),  # 5x5: F(2x2, 5x5)
        (17, 20, (13, 9), (1, 2), False, 1, 5),  # 5x5, odd sizes, asymmetric padding
        (16, 24, (11, 14), 0, True, 1, 5),  # 5x5 without padding
    ],
)
def test_conv_matches_torch(target, channels, filters, size, padding, bias, dilation, kernel):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(channels, filters, kernel, padding=padding, bias=bias, dilation=dilation)
    ).eval()
    exe = _compiled(model, torch.randn(1, channels, *size), target)
    assert _winograd_convs(exe) == 1


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("threads", [1, 2])
def test_fused_epilogues_and_threads(target, threads):
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(16, 24, 3, padding=1),
        nn.ReLU6(),
        ResidualBlock(24),
        nn.Conv2d(24, 16, 3, padding=2, dilation=2),
        nn.ReLU(),
        nn.Conv2d(16, 16, 1),
    ).eval()
    exe = _compiled(model, torch.randn(1, 16, 13, 10), target, threads)
    assert _winograd_convs(exe) == 4
    linalg_left = [line for line in exe.ir("dense").splitlines() if "linalg.generic" in line]
    assert not linalg_left  # ReLU6, the residual add and the ReLUs are in the kernels


def test_few_channels_stay_direct():
    """An RGB stem (3 channels) would pay more for the transforms than the GEMMs save."""
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1)).eval()
    exe = _compiled(model, torch.randn(1, 3, 12, 12), "host")
    assert _winograd_convs(exe) == 0


@pytest.mark.parametrize("kernel", [3, 5])
def test_transformed_weights_reproduce_the_convolution(kernel):
    """U = G g G^T with the input and output transforms of codegen/winograd.py, in numpy:
    the same 2x2 outputs as the direct correlation."""
    rng = np.random.default_rng(3)
    g = rng.standard_normal((2, 3, kernel, kernel))
    n = kernel + 1
    d = rng.standard_normal((3, n, n))
    at, _, bt = winograd_matrices(kernel)
    u = transform_weights(g).astype(np.float64).reshape(n, n, 2, 3)
    v = np.einsum("ij,cjk,lk->ilc", bt, d, bt)
    m = np.einsum("ijfc,ijc->ijf", u, v)
    y = np.einsum("ai,ijf,bj->fab", at, m, at)
    direct = np.array(
        [
            [
                [np.sum(g[f] * d[:, a : a + kernel, b : b + kernel]) for b in range(2)]
                for a in range(2)
            ]
            for f in range(2)
        ]
    )
    np.testing.assert_allclose(y, direct, rtol=1e-6, atol=1e-6)
