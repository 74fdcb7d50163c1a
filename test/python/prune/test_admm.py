"""ADMM end to end on a tiny model: constraints met, determinism, callbacks, and bad inputs."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from pattern_mlir.prune import admm, kept_count, project, retrain, verify

FAST = {"epochs": 2, "retrain_epochs": 1, "rho": 1e-2, "progress": False}


def test_admm_meets_constraints(tiny, batches):
    spec = admm(tiny, batches, num_patterns=4, connectivity=2.0, **FAST)
    verify(tiny, spec)
    assert spec.num_patterns == 4 and list(spec.layers) == ["c1", "c2", "c3"]
    assert spec["c3"].kept_kernels == kept_count(64, 2.0)


def test_admm_is_deterministic(tiny, batches):
    other = copy.deepcopy(tiny)
    s1 = admm(tiny, batches, **FAST, seed=3)
    s2 = admm(other, batches, **FAST, seed=3)
    assert s1 == s2
    for (k, a), b in zip(tiny.state_dict().items(), other.state_dict().values()):
        assert torch.equal(a, b), k


def test_admm_pulls_weights_onto_the_constraint(tiny, batches):
    records = []
    admm(
        tiny,
        batches,
        epochs=4,
        retrain_epochs=0,
        rho=0.5,
        rho_growth=2.0,
        updates_per_epoch=2,
        lr=1e-2,
        progress=False,
        callback=records.append,
        eval_data=batches[:2],
    )
    admm_records = [r for r in records if r["phase"] == "admm"]
    assert [r["rho"] for r in admm_records] == [0.5, 1.0, 2.0, 4.0]
    assert admm_records[-1]["residual"] < 0.75 * admm_records[0]["residual"]  # ||W - Z|| / ||W||
    assert {r["phase"] for r in records} == {"admm", "hard-prune"}
    assert all("eval_acc" in r for r in records)


def test_admm_uses_custom_loss_and_schedule(tiny, batches):
    calls = []

    def loss_fn(out, y):
        calls.append(len(y))
        return F.cross_entropy(out, y, label_smoothing=0.1)

    seen = []
    admm(
        tiny,
        batches,
        epochs=2,
        retrain_epochs=1,
        loss_fn=loss_fn,
        progress=False,
        rho_schedule=lambda e: seen.append(e) or 0.1 * (e + 1),
    )
    assert len(calls) == 3 * len(batches) and seen[-2:] == [0, 1]


def test_retrain_keeps_mask_and_learns(tiny, batches):
    spec = project(tiny, connectivity=2.0)
    before = tiny.c3.weight.detach().clone()
    retrain(
        tiny, batches, spec, epochs=1, lr=1e-2, optimizer="sgd", weight_decay=1e-3, progress=False
    )
    verify(tiny, spec)
    assert not torch.equal(before, tiny.c3.weight)


def test_empty_data(tiny):
    with pytest.raises(ValueError, match="no batch"):
        admm(tiny, [], **FAST)


def test_consumed_iterator(tiny, batches):
    with pytest.raises(ValueError, match="no batch"):
        admm(tiny, iter(batches), **FAST)


def test_batches_must_be_pairs(tiny, batches):
    with pytest.raises(ValueError, match=r"\(input, label\) pair"):
        admm(tiny, [batches[0][0]], **FAST)


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"num_patterns": 0}, "num_patterns"),
        ({"num_patterns": 57}, "num_patterns"),
        ({"connectivity": 0.9}, "connectivity"),
        ({"rho": 0}, "rho must be a positive"),
        ({"rho": float("nan")}, "rho must be a positive"),
        ({"rho_growth": -1.0}, "rho_growth"),
        ({"epochs": -1}, "epochs must be an integer"),
        ({"retrain_epochs": 1.5}, "retrain_epochs"),
        ({"updates_per_epoch": 0}, "updates_per_epoch"),
        ({"lr": 0.0}, "lr must be a positive"),
        ({"optimizer": "lion"}, "optimizer must be"),
        ({"rho_schedule": lambda e: 0.0}, r"rho_schedule\(0\) = 0.0"),
    ],
)
def test_bad_arguments(tiny, batches, kwargs, msg):
    args = {**FAST, **kwargs}
    with pytest.raises(ValueError, match=msg):
        admm(tiny, batches, **args)


def test_nan_weights(tiny, batches):
    with torch.no_grad():
        tiny.c2.weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="layer 'c2' has NaN or inf"):
        admm(tiny, batches, **FAST)


def test_admm_with_shuffling_dataloader_is_deterministic(tiny, batches):
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True
    )
    other = copy.deepcopy(tiny)
    admm(tiny, loader, **FAST, seed=7)
    admm(other, loader, **FAST, seed=7)
    for a, b in zip(tiny.parameters(), other.parameters()):
        assert torch.equal(a, b)
