"""A tensor read by two kernel calls, with an op between them that may write in place.

Fuzz seed 1568: a layer norm's output went to a linear layer and to attention. CSE merged
the two `bufferization.to_buffer` reads of it, so bufferization saw its last read before the
softmax, whose -inf fill then reused the buffer; the second linear layer read -inf and
maxima (passes/utils/kernel_calls.py)."""

from __future__ import annotations

import pattern_mlir
import pytest
import torch
from pattern_mlir.testing import relative_error


class NormThenTwoBranches(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = torch.nn.LayerNorm([9, 9])
        self.first = torch.nn.Linear(9, 9)
        self.second = torch.nn.Linear(9, 9)

    def forward(self, x):
        y = self.norm(x)
        attended = torch.softmax(self.first(y) @ x.transpose(1, 2), -1) @ x
        return self.second(y), attended


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
def test_a_tensor_read_by_two_kernels_is_not_overwritten_between(target):
    torch.manual_seed(0)
    model, x = NormThenTwoBranches().eval(), torch.randn(2, 9, 9)
    exe = pattern_mlir.compile(model, (x,), target=target)
    with torch.no_grad():
        want = model(x)
    for got, expected in zip(exe(x), want):
        assert relative_error(got, expected) <= 1e-5
