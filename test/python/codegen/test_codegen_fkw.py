"""FKR/FKW packing: round trips, ordering invariants, sizes, thread partition, validation."""

from __future__ import annotations

import numpy as np
import pytest
from codegen_util import make_layer
from pattern_mlir.codegen import (
    balanced_partition,
    channel_splits,
    csr_nbytes,
    fkw_nbytes,
    library_taps,
    pack,
    project,
    unpack,
    unpack_assignment,
)
from pattern_mlir.codegen.synthetic import random_layer, random_library


@pytest.mark.parametrize(
    "patterns,taps,conn", [(4, 4, 1.0), (8, 4, 3.6), (12, 4, 5.0), (6, 2, 2.0), (5, 5, 1.5)]
)
def test_round_trip(rng, patterns, taps, conn):
    w, lib, a = make_layer(rng, 13, 11, patterns, conn, taps)
    packed = pack(w, lib, a)
    np.testing.assert_array_equal(unpack(packed), project(w, lib, a))
    np.testing.assert_array_equal(unpack_assignment(packed), a)
    assert packed.weights.shape == (int((a >= 0).sum()), taps)


def test_off_pattern_values_are_ignored(rng):
    w, lib, a = make_layer(rng, 4, 5)
    noisy = w + 1.0  # non-zero everywhere, also outside each kernel's pattern
    np.testing.assert_array_equal(unpack(pack(noisy, lib, a)), project(noisy, lib, a))


def test_layout_invariants(rng):
    w, lib, a = make_layer(rng, 32, 24, 8, 3.0)
    a[5] = -1  # a filter with no kept kernel
    p = pack(w, lib, a)
    o, num_p = a.shape[0], lib.shape[0]
    assert p.filter_order.dtype == np.int32 and p.offsets.dtype == np.int32
    assert p.channels.dtype == np.int32 and p.weights.dtype == np.float32
    assert sorted(p.filter_order.tolist()) == list(range(o))
    assert (
        p.offsets.shape == (o * num_p + 1,) and p.offsets[0] == 0 and p.offsets[-1] == p.num_kernels
    )
    counts = p.counts()
    # FKR: kept-kernel counts descend, equal counts are grouped by histogram.
    keys = [(-c.sum(), tuple(-c)) for c in counts]
    assert keys == sorted(keys)
    assert p.kernels_per_filter()[-1] == 0
    taps = library_taps(lib)
    for f in range(o):
        orig = p.filter_order[f]
        for q in range(num_p):
            lo, hi = p.offsets[f * num_p + q], p.offsets[f * num_p + q + 1]
            chans = p.channels[lo:hi]
            assert np.all(np.diff(chans) > 0), "kernels of one run stream in channel order"
            assert np.all(a[orig, chans] == q)
            np.testing.assert_array_equal(
                p.weights[lo:hi], w[orig, chans][:, taps[q, :, 0], taps[q, :, 1]]
            )


def test_fkw_smaller_than_csr(rng):
    for patterns, conn in [(4, 1.0), (8, 3.6), (12, 5.0)]:
        lib = random_library(patterns, rng)
        w, a = random_layer(64, 64, lib, conn, rng)
        p = pack(w, lib, a)
        assert fkw_nbytes(p) < csr_nbytes(p)
        assert csr_nbytes(p) == csr_nbytes(project(w, lib, a))


def test_balanced_partition(rng):
    w, lib, a = make_layer(rng, 50, 40, 8, 2.5)
    p = pack(w, lib, a)
    work = p.kernels_per_filter() + 1.0
    for n in (1, 2, 3, 7, 60):
        b = balanced_partition(p, n)
        assert b.shape == (n + 1,) and b[0] == 0 and b[-1] == 50 and np.all(np.diff(b) >= 0)
        if n <= 7:
            shares = [work[b[g] : b[g + 1]].sum() for g in range(n)]
            assert max(shares) - min(shares) <= 2 * work.max()
    with pytest.raises(ValueError):
        balanced_partition(p, 0)


def test_validation_errors(rng):
    w, lib, a = make_layer(rng, 3, 2)
    bad_lib = lib.copy()
    bad_lib[0, 0, 0] = not bad_lib[0, 0, 0]
    with pytest.raises(ValueError, match="same non-zero tap count"):
        pack(w, bad_lib, a)
    with pytest.raises(ValueError, match="shape"):
        pack(w[:, :, :2], lib, a)
    with pytest.raises(ValueError, match=r"assignment\[0, 1\] = 99"):
        bad = a.copy()
        bad[0, 1] = 99
        pack(w, lib, bad)
    with pytest.raises(ValueError, match="assignment must have shape"):
        pack(w, lib, a[:, :1])
    with pytest.raises(TypeError):
        pack(w, lib, a.astype(np.float32))


def test_all_kernels_removed(rng):
    w, lib, _ = make_layer(rng, 3, 2)
    a = np.full((3, 2), -1, np.int32)
    p = pack(w, lib, a)
    assert p.num_kernels == 0 and np.all(p.offsets == 0)
    np.testing.assert_array_equal(unpack(p), np.zeros_like(w))


def test_channel_splits(rng):
    w, lib, a = make_layer(rng, 9, 20, 8, 1.5)
    p = pack(w, lib, a)
    for block in (1, 3, 8, 20, 64):
        s = channel_splits(p, block)
        nb = -(-20 // block)
        assert s.shape == (9 * 8, nb + 1) and s.dtype == np.int32
        np.testing.assert_array_equal(s[:, 0], p.offsets[:-1])
        np.testing.assert_array_equal(s[:, -1], p.offsets[1:])
        for run in range(9 * 8):
            for j in range(nb):
                chans = p.channels[s[run, j] : s[run, j + 1]]
                assert np.all((chans >= j * block) & (chans < (j + 1) * block))
