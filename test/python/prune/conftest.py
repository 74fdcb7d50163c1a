"""Fixtures shared by the prune tests: fast on CPU, with every layer kind the rules use."""

from __future__ import annotations

import pytest
import torch
from prune_testlib import TinyNet, toy_batches

torch.set_num_threads(1)  # tiny tensors: threads only add overhead on a shared 2-core machine


@pytest.fixture
def tiny() -> TinyNet:
    torch.manual_seed(0)
    return TinyNet()


@pytest.fixture
def batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Eight batches of a learnable toy task (prune_testlib.toy_batches)."""
    return toy_batches()
