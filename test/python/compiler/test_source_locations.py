"""Errors about a model's op name the torch op and the line of the user's source."""

from __future__ import annotations

import inspect

import pattern_mlir
import pytest
import torch
from pattern_mlir.frontend.torch_import import import_torch


class SortsAfterConv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn = torch.nn.Conv2d(2, 4, 3), torch.nn.BatchNorm2d(4)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        return torch.sort(y, dim=-1).values


def _line_of(text: str) -> int:
    source, first = inspect.getsourcelines(SortsAfterConv.forward)
    return first + next(i for i, line in enumerate(source) if text in line)


def test_imported_ops_carry_the_users_line_after_batchnorm_folding():
    """BatchNorm folding traces the model with torch.fx; the lines must survive it."""
    text = import_torch(SortsAfterConv().eval(), (torch.randn(1, 2, 8, 8),)).text
    assert f'"{__file__}":{_line_of("torch.relu")}:' in text


def test_an_op_of_a_dialect_the_compiler_lacks_names_torch_op_and_line():
    with pytest.raises(pattern_mlir.CompileError) as caught:
        pattern_mlir.compile(SortsAfterConv().eval(), (torch.randn(1, 2, 8, 8),))
    message = str(caught.value)
    assert caught.value.stage == "parse"
    assert f"aten.sort.default in forward at {__file__}:{_line_of('torch.sort')}" in message
    assert "'tm_tensor.sort'" in message and "Available dialects" not in message
