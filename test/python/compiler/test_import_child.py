"""The torch-mlir import process is kept between imports (frontend/import_child.py): later
compiles of a process reuse it, a failed import leaves it serving, a dead one is replaced."""

from __future__ import annotations

import pattern_mlir
import pytest
import torch
from pattern_mlir.frontend import import_child


@pytest.fixture(autouse=True)
def keep_children(monkeypatch):
    """Earlier compiles of this worker must not make a test's child due for retirement."""
    monkeypatch.setattr(import_child, "RETIRE_AFTER", 10**6)
    monkeypatch.setattr(import_child, "KEEP_RSS_BYTES", 1 << 40)


def _model():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()).eval()


def _compile_and_check(model, x) -> None:
    exe = pattern_mlir.compile(model, (x,), options=pattern_mlir.CompileOptions(num_threads=1))
    assert torch.allclose(exe(x), model(x), atol=1e-5)


def _idle_child() -> import_child.ImportChild:
    assert len(import_child._idle) == 1
    return import_child._idle[0]


class Unimportable(torch.nn.Module):
    def forward(self, x):
        return torch.fft.rfft(x).abs()


def test_later_imports_reuse_the_process():
    model, x = _model(), torch.randn(1, 3, 9, 9)
    _compile_and_check(model, x)
    first = _idle_child()
    served = first.served
    _compile_and_check(model, x)
    assert _idle_child() is first and first.alive() and first.served == served + 1


def test_a_failed_import_leaves_the_process_serving():
    model, x = _model(), torch.randn(1, 3, 9, 9)
    _compile_and_check(model, x)
    child = _idle_child()
    with pytest.raises(pattern_mlir.CompileError, match="torch-mlir could not import"):
        pattern_mlir.compile(Unimportable(), (torch.randn(2, 8),))
    assert _idle_child() is child and child.alive()
    _compile_and_check(model, x)


def test_a_dead_process_is_replaced():
    model, x = _model(), torch.randn(1, 3, 9, 9)
    _compile_and_check(model, x)
    dead = _idle_child()
    dead.process.kill()
    dead.process.wait()
    _compile_and_check(model, x)
    assert _idle_child() is not dead and _idle_child().alive()


def test_a_spent_process_is_retired(monkeypatch):
    monkeypatch.setattr(import_child, "RETIRE_AFTER", 1)
    model, x = _model(), torch.randn(1, 3, 9, 9)
    _compile_and_check(model, x)
    assert import_child._idle == []


def test_a_process_holding_much_memory_is_ended(monkeypatch):
    monkeypatch.setattr(import_child, "KEEP_RSS_BYTES", 1)
    model, x = _model(), torch.randn(1, 3, 9, 9)
    _compile_and_check(model, x)
    assert import_child._idle == []
