"""Compile memory does not grow with activation sizes: a deep model on a large image compiles
within a fixed memory bound.

Every shape is static, so a lowering that unrolls or vectorises by the size of a tensor would
make the compiler's memory grow with the image; the stage worker's peak resident memory
(sampled by the caller, `exe.compile_peak_rss`) must stay far below what such a path takes
(the unbounded reduction path once took 7.9 GB on a 1x4x6x6 softmax).
"""

from __future__ import annotations

import pattern_mlir
import torch
import torch.nn.functional as F
from torch import nn

BOUND = 1.5 * 2**30  # bytes; the deep model below peaks near 0.3 GiB


class Deep(nn.Module):
    """24 blocks over a 1x8x160x160 image: 3x3 and 1x1 convs, every activation and reduction
    family that runs outside the conv kernels, channel softmax and means over channels."""

    def __init__(self, blocks: int = 24, channels: int = 8):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.convs = nn.ModuleList(
            nn.Conv2d(channels, channels, 3 if i % 2 else 1, padding=i % 2) for i in range(blocks)
        )
        self.norms = nn.ModuleList(nn.GroupNorm(2, channels) for _ in range(blocks))

    def forward(self, x):
        y = self.stem(x)
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            z = norm(conv(y))
            if index % 3 == 0:
                z = torch.softmax(z, dim=1) * z.mean(dim=1, keepdim=True)
            elif index % 3 == 1:
                z = F.gelu(z) + z.amax(dim=(2, 3), keepdim=True)
            else:
                z = F.silu(z)
            y = y + z
        return y.mean(dim=(2, 3))


def test_deep_model_on_large_image_compiles_in_bounded_memory():
    torch.manual_seed(0)
    model, x = Deep().eval(), torch.randn(1, 3, 160, 160)
    exe = pattern_mlir.compile(model, (x,), options=pattern_mlir.CompileOptions(num_threads=1))
    assert 0 < exe.compile_peak_rss < BOUND, (
        f"stage worker peaked at {exe.compile_peak_rss / 2**30:.2f} GiB"
    )
    with torch.no_grad():
        expected = model(x)
    got = exe(x)
    assert float((got - expected).abs().max() / expected.abs().max()) <= 1e-4
