"""Cumulative sums (torch-mlir's tm_tensor.scan) compile as log-step scans on every CPU target."""

from __future__ import annotations

import pattern_mlir
import pytest
import torch
from pattern_mlir.testing import relative_error


class CumSum(torch.nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return torch.cumsum(torch.relu(x), dim=self.dim) * 0.5


@pytest.mark.parametrize(
    ("shape", "dim"), [((2, 37), -1), ((1, 3, 9, 5), 1), ((16,), 0), ((4, 1, 6), 1)]
)
def test_cumsum_matches_torch_on_host(shape, dim):
    torch.manual_seed(0)
    model, x = CumSum(dim).eval(), torch.randn(*shape)
    exe = pattern_mlir.compile(model, (x,), options=pattern_mlir.CompileOptions(num_threads=1))
    assert relative_error(exe(x), model(x)) <= 1e-5
    assert "tm_tensor" not in exe.ir("linalg")


def test_cumsum_matches_torch_on_arm64():
    torch.manual_seed(1)
    model, x = CumSum(-1).eval(), torch.randn(3, 21)
    exe = pattern_mlir.compile(model, (x,), target="arm64-neon")
    assert relative_error(exe(x), model(x)) <= 1e-5
