"""Small models shared by the prune tests: fast on CPU, with every layer kind the rules use."""

from __future__ import annotations

import pytest
import torch
from torch import nn

torch.set_num_threads(1)  # tiny tensors: threads only add overhead on a shared 2-core machine


class TinyNet(nn.Module):
    """A thin 3x3 first conv, two wider 3x3 convs, a 1x1 conv and a linear head (8x8 inputs)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 3, padding=1)
        self.c2 = nn.Conv2d(6, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.c3 = nn.Conv2d(8, 8, 3, padding=1)
        self.point = nn.Conv2d(8, 8, 1)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        x = torch.relu(self.c1(x))
        x = torch.relu(self.bn(self.c2(x)))
        x = torch.relu(self.c3(x))
        x = self.point(x)
        return self.head(x.mean((2, 3)))


@pytest.fixture
def tiny() -> TinyNet:
    torch.manual_seed(0)
    return TinyNet()


@pytest.fixture
def batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Eight batches of a learnable toy task: the label is which third of the image is brightest."""
    g = torch.Generator().manual_seed(1)
    out = []
    for _ in range(8):
        x = torch.randn(16, 1, 8, 8, generator=g)
        y = torch.randint(0, 3, (16,), generator=g)
        for k in range(16):
            x[k, 0, :, 3 * int(y[k]) : 3 * int(y[k]) + 2] += 2.0
        out.append((x, y))
    return out
