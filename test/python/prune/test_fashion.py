"""The demo entry point trains tiny models, caches them, and loads them back without training."""

from __future__ import annotations

import pytest
import torch
from pattern_mlir.models.fashion_cnn import FashionCNN
from pattern_mlir.prune import eligible_convs, verify
from pattern_mlir.prune.data import DEFAULT_ROOT
from pattern_mlir.prune.fashion import FashionConfig, train_or_load


def _tiny_config(dense_epochs: int, train_limit: int) -> FashionConfig:
    """A model and a training run small enough for a test: one ADMM and one retraining epoch."""
    return FashionConfig(
        widths=(4, 8, 8),
        dense_epochs=dense_epochs,
        admm_epochs=1,
        retrain_epochs=1,
        train_limit=train_limit,
        updates_per_epoch=2,
    )


def test_fashion_cnn_shape():
    model = FashionCNN()
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert len(eligible_convs(model)) == 6


@pytest.mark.skipif(not DEFAULT_ROOT.is_dir(), reason="Debian dataset-fashion-mnist not installed")
def test_train_or_load_caches(tmp_path):
    cfg = _tiny_config(dense_epochs=1, train_limit=256)
    logs = []
    dense, pruned, spec, test = train_or_load(tmp_path, cfg, progress=False, log=logs.append)
    verify(pruned, spec)
    assert len(spec) == 6 and spec.connectivity == 3.6 and not any("loaded" in m for m in logs)
    logs.clear()
    again = train_or_load(
        tmp_path, None, progress=False, log=logs.append
    )  # None: whatever is cached
    assert sum("loaded" in m for m in logs) == 2 and again.spec == spec
    for a, b in zip(pruned.state_dict().values(), again.pruned.state_dict().values()):
        assert torch.equal(a, b)
    x = next(iter(test))[0][:4]
    assert torch.equal(dense(x), again.dense(x))


@pytest.mark.skipif(not DEFAULT_ROOT.is_dir(), reason="Debian dataset-fashion-mnist not installed")
def test_pruning_a_cached_dense_model_matches_a_fresh_run(tmp_path):
    """ADMM after loading the dense model sees the shuffles it sees right after training it."""
    import shutil

    cfg = _tiny_config(dense_epochs=2, train_limit=512)
    fresh = train_or_load(tmp_path, cfg, progress=False, log=lambda m: None)
    shutil.rmtree(tmp_path / "fashion" / "pruned")
    (tmp_path / "fashion" / "pruned.json").unlink()
    logs = []
    again = train_or_load(tmp_path, cfg, progress=False, log=logs.append)
    assert any("dense model loaded" in m for m in logs)
    assert not any("pruned model loaded" in m for m in logs)
    for a, b in zip(fresh.pruned.state_dict().values(), again.pruned.state_dict().values()):
        assert torch.equal(a, b)
