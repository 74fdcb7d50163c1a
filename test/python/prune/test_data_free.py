"""Data-free pruning on a tiny model: BN-statistics synthesis, distillation, and bad models."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from pattern_mlir.prune import DataFreeError, data_free, kept_count, verify
from pattern_mlir.prune.distill import DistillBatches, distillation_loss
from pattern_mlir.prune.synthesis import synthesize_inputs
from pattern_mlir.prune.train import make_optimizer, recalibrate_bn, run_epoch
from prune_testlib import state_digest
from torch import nn

FAST = {
    "samples": 48,
    "synth_steps": 5,
    "synth_batch_size": 16,
    "batch_size": 16,
    "passes_per_epoch": 2,
    "epochs": 1,
    "retrain_epochs": 1,
    "updates_per_epoch": 1,
    "progress": False,
}


@pytest.fixture
def trained(tiny, batches):
    """TinyNet after one epoch on the toy task, so its BatchNorm holds real statistics."""
    run_epoch(tiny, batches, make_optimizer(tiny.parameters(), "adam", 1e-2), progress=False)
    return tiny


def test_data_free_prunes_and_reports(trained):
    records = []
    spec = data_free(trained, 4, 2.0, input_shape=(1, 8, 8), callback=records.append, **FAST)
    verify(trained, spec)
    assert spec.num_patterns == 4 and list(spec.layers) == ["c1", "c2", "c3"]
    assert spec["c3"].kept_kernels == kept_count(64, 2.0)
    assert [r["phase"] for r in records] == ["synthesis", "admm", "hard-prune", "retrain"]
    assert records[0]["samples"] == 48


def test_synthesis_matches_given_batchnorm_statistics(tiny):
    # Synthetic statistics: those of inputs 3 * noise + 1, which the synthesis never sees; it
    # starts from plain noise and must find inputs that give the BN layer the same statistics.
    g = torch.Generator().manual_seed(2)
    recalibrate_bn(tiny, [(3 * torch.randn(64, 1, 8, 8, generator=g) + 1, torch.zeros(64))] * 4)
    bn = tiny.bn
    seen = []
    bn.register_forward_hook(lambda m, i, o: seen.append(i[0]))

    def gap(x):
        with torch.no_grad():
            tiny(x)
        a = seen[-1]
        mean, var = a.mean((0, 2, 3)), a.var((0, 2, 3), unbiased=False)
        return float((mean - bn.running_mean).norm() + (var - bn.running_var).norm())

    before = state_digest(tiny)
    x = synthesize_inputs(tiny, (1, 8, 8), 32, batch_size=32, steps=40, lr=0.3, progress=False)
    assert x.shape == (32, 1, 8, 8) and torch.isfinite(x).all()
    assert state_digest(tiny) == before  # the model is not touched
    tiny.eval()
    assert gap(x) < 0.2 * gap(torch.randn(32, 1, 8, 8, generator=g))


def test_model_without_batchnorm_is_refused_untouched():
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
    before = state_digest(model)
    with pytest.raises(DataFreeError, match="Sequential has no BatchNorm layer.*prune.admm"):
        data_free(model, input_shape=(1, 8, 8), **FAST)
    assert state_digest(model) == before


def test_untrained_batchnorm_is_refused(tiny):
    with pytest.raises(DataFreeError, match="num_batches_tracked = 0.*train it first"):
        data_free(tiny, input_shape=(1, 8, 8), **FAST)


def test_batchnorm_without_running_statistics_is_refused(trained):
    trained.bn = nn.BatchNorm2d(8, track_running_stats=False)
    with pytest.raises(DataFreeError, match="'bn' keeps no running statistics"):
        data_free(trained, input_shape=(1, 8, 8), **FAST)


def test_wrong_input_shape(trained):
    with pytest.raises(ValueError, match=r"input_shape \(3, 8, 8\) does not fit the model"):
        data_free(trained, input_shape=(3, 8, 8), **FAST)


def test_distillation_batches_carry_the_teachers_logits(trained):
    teacher = copy.deepcopy(trained).eval()
    inputs = torch.randn(20, 1, 8, 8)
    data = DistillBatches(teacher, inputs, batch_size=8, seed=1)
    assert len(data) == 3
    first = list(data)
    assert [len(x) for x, _ in first] == [8, 8, 4]
    with torch.no_grad():
        for x, logits in first:
            assert torch.equal(logits, teacher(x))
    second = torch.cat([x for x, _ in data])
    assert not torch.equal(torch.cat([x for x, _ in first]), second)  # new order and shift
    twice = DistillBatches(teacher, inputs, batch_size=8, passes=2, seed=1)
    assert len(twice) == 6 and [len(x) for x, _ in twice] == [8, 8, 4] * 2


def test_distillation_loss():
    loss = distillation_loss(2.0)
    logits = torch.randn(4, 3)
    assert float(loss(logits, logits)) == pytest.approx(0.0, abs=1e-6)
    assert float(loss(logits, logits.flip(1))) > 0
    labels = torch.tensor([0, 2, 1, 1])
    assert torch.equal(loss(logits, labels), F.cross_entropy(logits, labels))
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(0.0)
