"""One-shot projection: exact supports, connectivity per layer, optimality, rules, and errors."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch
from pattern_mlir.prune import (
    PruneRules,
    candidate_patterns,
    kept_count,
    project,
    project_assignment,
    spec_from_weights,
    verify,
)
from torch import nn


def test_support_equals_chosen_pattern(tiny):
    spec = project(tiny, num_patterns=8, connectivity=2.0)
    verify(tiny, spec)
    modules = dict(tiny.named_modules())
    for s in spec:
        w = modules[s.name].weight.detach()
        for o, i in itertools.product(*map(range, s.assignment.shape)):
            support = (w[o, i] != 0).numpy()
            if s.assignment[o, i] < 0:
                assert not support.any()
            else:
                assert np.array_equal(support, s.library[s.assignment[o, i]])


@pytest.mark.parametrize("ratio", [1.0, 2.0, 3.6, 5.0, 1000.0])
def test_connectivity_ratio_met_per_layer(tiny, ratio):
    spec = project(tiny, connectivity=ratio, rules=PruneRules(connectivity_min_in_channels=0))
    for s in spec:
        n = s.assignment.size
        assert s.kept_kernels == max(1, math.ceil(n / ratio - 1e-9)) == kept_count(n, ratio)
        assert s.connectivity <= ratio or s.kept_kernels == 1


def test_removed_kernels_are_the_weakest():
    w = torch.randn(6, 5, 3, 3, generator=torch.Generator().manual_seed(3))
    lib = candidate_patterns()[:8]
    a = project_assignment(w, lib, 3.0).numpy()
    energy = (w.square().reshape(6, 5, 1, 9) * torch.from_numpy(lib.reshape(1, 1, 8, 9))).sum(-1)
    best = energy.max(-1).values.numpy()
    assert best[a >= 0].min() >= best[a < 0].max()


def test_projection_is_euclidean_optimal_by_brute_force():
    """Enumerate every feasible (kept kernel set, patterns) of a 1x3 layer, keep 2 of 3 kernels."""
    g = torch.Generator().manual_seed(4)
    lib = candidate_patterns()[[0, 9, 30]]
    for _ in range(5):
        w = torch.randn(1, 3, 3, 3, generator=g)
        a = project_assignment(w, lib, 1.5)  # keep ceil(3 / 1.5) = 2
        ours = float((w - w * torch.from_numpy(_mask(a.numpy(), lib))).square().sum())
        best = math.inf
        for ids in itertools.product([-1, 0, 1, 2], repeat=3):
            if sum(i >= 0 for i in ids) <= 2:
                m = _mask(np.array([ids]), lib)
                best = min(best, float((w - w * torch.from_numpy(m)).square().sum()))
        assert ours == pytest.approx(best, rel=1e-6)


def _mask(a, lib):
    padded = np.concatenate([lib, np.zeros((1, 3, 3), bool)])
    return padded[a].astype(np.float32)


def test_projection_is_deterministic_and_idempotent(tiny):
    other = copy.deepcopy(tiny)
    s1, s2 = project(tiny), project(other)
    assert s1 == s2
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    assert project(tiny, library=s1["c2"].library) == s1
    assert all(torch.equal(before[k], v) for k, v in tiny.state_dict().items())


def test_given_library_is_used_in_order(tiny):
    lib = candidate_patterns()[[40, 2, 17]]
    spec = project(tiny, num_patterns=8, library=lib)
    assert spec.num_patterns == 3
    for s in spec:
        assert np.array_equal(s.library, lib)


def test_default_rules_protect_thin_layers_and_skip_non_3x3(tiny):
    spec = project(tiny, connectivity=4.0)
    assert list(spec.layers) == ["c1", "c2", "c3"]
    assert spec["c1"].kept_kernels == 6  # in_channels 1 < 4: patterns only
    assert spec["c2"].kept_kernels == kept_count(48, 4.0)
    assert (tiny.point.weight != 0).all()  # 1x1 conv untouched


def test_rules_first_last_overrides_exclude_layers(tiny):
    rules = PruneRules(first=2.0, last=8.0, connectivity_min_in_channels=0)
    spec = project(copy.deepcopy(tiny), connectivity=4.0, rules=rules)
    assert [s.kept_kernels for s in spec] == [
        kept_count(6, 2),
        kept_count(48, 4),
        kept_count(64, 8),
    ]
    rules = PruneRules(overrides={"c3": 1.0}, exclude=("c1",))
    spec = project(copy.deepcopy(tiny), connectivity=4.0, rules=rules)
    assert list(spec.layers) == ["c2", "c3"] and spec["c3"].kept_kernels == 64
    spec = project(copy.deepcopy(tiny), rules=PruneRules(layers=("c3",)))
    assert list(spec.layers) == ["c3"]
    spec = project(copy.deepcopy(tiny), rules=PruneRules(min_in_channels=8))
    assert list(spec.layers) == ["c3"]


def test_spec_from_weights_recovers_projection(tiny):
    spec = project(tiny, num_patterns=6, connectivity=2.5)
    back = spec_from_weights(tiny, spec["c2"].library)
    assert list(back.layers) == list(spec.layers)
    for a, b in zip(spec, back):
        assert a == b
    total = sum(s.assignment.size for s in spec)
    assert back.connectivity == pytest.approx(total / sum(s.kept_kernels for s in spec))


def test_spec_from_weights_skips_dense_unless_named(tiny):
    lib = candidate_patterns()[:4]
    project(tiny, library=lib, rules=PruneRules(layers=("c2",)))
    assert list(spec_from_weights(tiny, lib).layers) == ["c2"]
    with pytest.raises(ValueError, match=r"layer 'c3': kernel \[0, 0\] has non-zero taps"):
        spec_from_weights(tiny, lib, layers=["c2", "c3"])


def test_verify_names_the_offending_weight(tiny):
    spec = project(tiny)
    o, i = map(int, np.argwhere(spec["c3"].assignment < 0)[0])
    with torch.no_grad():
        tiny.c3.weight[o, i, 0, 0] = 0.5
    with pytest.raises(ValueError, match=rf"layer 'c3': weight\[{o}, {i}, 0, 0\] = 0.5 .*removed"):
        verify(tiny, spec)
    with torch.no_grad():
        tiny.c3.weight[o, i, 0, 0] = 0.0
        ko, ki = map(int, np.argwhere(spec["c2"].assignment >= 0)[0])
        tiny.c2.weight[ko, ki][~torch.from_numpy(spec["c2"].mask()[ko, ki])] = 1.0
    with pytest.raises(ValueError, match="layer 'c2'.*outside pattern"):
        verify(tiny, spec)


@pytest.mark.parametrize("ratio", [0.5, 0.0, -2, float("nan"), float("inf"), "x", None])
def test_bad_connectivity(tiny, ratio):
    with pytest.raises(ValueError, match="connectivity"):
        project(tiny, connectivity=ratio)


def test_bad_override_ratio(tiny):
    with pytest.raises(ValueError, match=r"rules.overrides\['c2'\]"):
        project(tiny, rules=PruneRules(overrides={"c2": 0.9}))


@pytest.mark.parametrize("k", [0, 57])
def test_bad_num_patterns(tiny, k):
    with pytest.raises(ValueError, match="num_patterns must be in 1..56"):
        project(tiny, num_patterns=k)


def test_no_eligible_layer():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 3, groups=2), nn.Flatten(), nn.Linear(4, 2)
    )
    with pytest.raises(ValueError, match="no eligible layer"):
        project(model)


def test_rules_leaving_nothing(tiny):
    with pytest.raises(ValueError, match="no eligible layer.*c1, c2, c3"):
        project(tiny, rules=PruneRules(exclude=("c1", "c2", "c3")))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights(tiny, bad):
    with torch.no_grad():
        tiny.c3.weight[1, 2, 0, 0] = bad
    with pytest.raises(ValueError, match="layer 'c3' has NaN or inf weights"):
        project(tiny)


@pytest.mark.parametrize(
    ("name", "msg"),
    [
        ("point", r"'point' is a Conv2d with kernel_size=\(1, 1\)"),
        ("head", "'head' is a Linear"),
        ("nope", "no module named 'nope'"),
    ],
)
def test_non_3x3_layer_named_for_patterns(tiny, name, msg):
    with pytest.raises(ValueError, match=msg):
        project(tiny, rules=PruneRules(layers=(name,)))
    with pytest.raises(ValueError, match=msg):
        project(tiny, rules=PruneRules(overrides={name: 2.0}))
