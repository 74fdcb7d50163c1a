"""Pattern candidates, best-pattern choice (checked by brute force) and library selection."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from pattern_mlir.prune import best_patterns, candidate_patterns, select_library, validate_library


def test_56_candidates_with_centre_and_four_taps():
    c = candidate_patterns()
    assert c.shape == (56, 3, 3) and c.dtype == bool
    assert c[:, 1, 1].all()
    assert (c.reshape(56, 9).sum(1) == 4).all()
    assert len({m.tobytes() for m in c}) == 56


@pytest.mark.parametrize("seed", range(5))
def test_best_pattern_is_brute_force_best(seed):
    g = torch.Generator().manual_seed(seed)
    lib = candidate_patterns()[torch.randperm(56, generator=g)[:6].numpy()]
    w = torch.randn(5, 4, 3, 3, generator=g)
    ids, kept = best_patterns(w, lib)
    for o, i in itertools.product(range(5), range(4)):
        norms = [float((w[o, i] * torch.from_numpy(m)).square().sum()) for m in lib]
        assert int(ids[o, i]) == int(np.argmax(norms))
        assert float(kept[o, i]) == pytest.approx(max(norms), rel=1e-6)


def test_select_library_orders_by_votes():
    cands = candidate_patterns()
    want = [7, 3, 50, 11]  # vote counts 6, 5, 4, 3
    kernels = []
    for rank, k in enumerate(want):
        kernels += [torch.from_numpy(cands[k]).float() * (1 + r) for r in range(6 - rank)]
    w = torch.stack(kernels).reshape(-1, 1, 3, 3)
    lib = select_library([w], 4)
    assert [int(np.flatnonzero([np.array_equal(m, c) for c in cands])[0]) for m in lib] == want
    # zero kernels do not vote; with more patterns than voted ones, candidate order fills up
    lib6 = select_library([torch.cat([w, torch.zeros(9, 1, 3, 3)])], 6)
    assert np.array_equal(lib6[:4], lib) and np.array_equal(lib6[4:], cands[[0, 1]])


@pytest.mark.parametrize("k", [1, 56])
def test_select_library_bounds_ok(k):
    assert len(select_library([torch.randn(4, 4, 3, 3)], k)) == k


@pytest.mark.parametrize("k", [0, 57, -1, 2.5, True, "8"])
def test_select_library_rejects_bad_k(k):
    with pytest.raises(ValueError, match="num_patterns"):
        select_library([torch.randn(2, 2, 3, 3)], k)


@pytest.mark.parametrize(
    ("lib", "msg"),
    [
        (np.ones((2, 3, 4)), "shape"),
        (np.zeros((0, 3, 3)), "shape"),
        (np.full((1, 3, 3), 2), "0/1"),
        (np.zeros((1, 3, 3)), "keeps no tap"),
        (candidate_patterns()[[0, 0]], "duplicate"),
        (np.stack([candidate_patterns()[0], np.ones((3, 3), bool)]), "same number of taps"),
    ],
)
def test_validate_library_errors(lib, msg):
    with pytest.raises(ValueError, match=msg):
        validate_library(lib)
