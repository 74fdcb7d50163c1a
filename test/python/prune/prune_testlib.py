"""Small models and data shared by the prune tests and the processes they launch (dist_worker.py).

Plain module, not a conftest, so that a worker started by torchrun can import it too.
"""

from __future__ import annotations

import hashlib

import torch
from torch import nn


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


def toy_batches(count: int = 8, seed: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Batches of a learnable toy task: the label is which third of the image is brightest."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        x = torch.randn(16, 1, 8, 8, generator=g)
        y = torch.randint(0, 3, (16,), generator=g)
        for k in range(16):
            x[k, 0, :, 3 * int(y[k]) : 3 * int(y[k]) + 2] += 2.0
        out.append((x, y))
    return out


def state_digest(model: nn.Module) -> str:
    """SHA-256 of every tensor of the state dict: equal digests, bit-identical models."""
    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        h.update(k.encode() + v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
