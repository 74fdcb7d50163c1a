"""Route 2's reductions (pattern-vectorize-dense, passes/dense_transform.py) against torch.

* A reduction over a non-innermost loop (a channel mean in NCHW) keeps its accumulator in
  vector registers over the reduction loop, on loops merged into one long parallel loop
  (passes/dense_collapse.py): its dense IR has a loop carrying a vector.

On the host, on x86-64-v3 (AVX2; runs on any x86-64-v4 host) and on arm64 under qemu.
"""

from __future__ import annotations

import re

import pattern_mlir
import pytest
import torch
from torch import nn

TOLERANCE = 1e-4
TARGETS = ["host", "x86-64-v3", "arm64-neon"]
VECTOR_LOOP = re.compile(r"scf\.for .* iter_args\(.*\) -> \((.*, )?vector<")


class Lambda(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _compile(model: nn.Module, x: torch.Tensor, target: str):
    return pattern_mlir.compile(
        model, x, target=target, options=pattern_mlir.CompileOptions(num_threads=1)
    )


def _error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got - want).abs().max() / max(float(want.abs().max()), 1e-12))


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    "shape",
    [(1, 7, 12, 16), (1, 5, 9, 11)],
    ids=["whole_tiles", "remainder"],  # 192 pixels; 99: a remainder tile after the vectors
)
def test_channel_reductions_accumulate_in_registers(shape, target):
    model = Lambda(lambda x: (x.mean(1), x.sum(1, keepdim=True), x.amax(1))).eval()
    x = torch.randn(*shape)
    exe = _compile(model, x, target)
    assert VECTOR_LOOP.search(exe.ir("dense")), "no accumulator carried in registers"
    for _run in range(2):
        with torch.no_grad():
            want = model(x)
        for got, expected in zip(exe(x), want):
            assert _error(got, expected) <= TOLERANCE
        x = torch.randn(*shape) * 10 + 100
