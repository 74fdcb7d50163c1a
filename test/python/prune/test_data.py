"""The idx reader, the batch iterator, and (when Debian's package is installed) the real data."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch
from pattern_mlir.prune.data import DEFAULT_ROOT, Batches, load_fashion_mnist, read_idx


def _write_idx(path, arr, code=0x08):
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.tobytes())


def test_read_idx_round_trip(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.gz", arr)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), arr)
    big = np.arange(6, dtype=">i4").reshape(2, 3)
    _write_idx(tmp_path / "b.gz", big, code=0x0C)
    out = read_idx(tmp_path / "b.gz")
    assert out.dtype == np.int32 and np.array_equal(out, big.astype(np.int32))


def test_read_idx_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an idx file"):
        read_idx(tmp_path / "bad")
    with gzip.open(tmp_path / "short.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"abc")
    with pytest.raises(ValueError, match="header says"):
        read_idx(tmp_path / "short.gz")


def test_batches_shuffle_is_seeded_per_epoch():
    x = torch.arange(10, dtype=torch.uint8).reshape(10, 1, 1).expand(10, 2, 2).contiguous()
    y = torch.arange(10)
    a, b = Batches(x, y, 4, shuffle=True, seed=5), Batches(x, y, 4, shuffle=True, seed=5)
    e1 = [yb.tolist() for _, yb in a]
    assert e1 == [yb.tolist() for _, yb in b] and len(a) == 3 == len(e1)
    assert e1 != [yb.tolist() for _, yb in a]  # next epoch, new order
    assert sorted(v for batch in e1 for v in batch) == list(range(10))
    xb, _yb = next(iter(Batches(x, y, 4, limit=6)))
    assert (
        xb.shape == (4, 1, 2, 2)
        and xb.dtype == torch.float32
        and len(Batches(x, y, 4, limit=6)) == 2
    )


def test_batches_empty():
    with pytest.raises(ValueError, match="no samples"):
        Batches(torch.zeros(0, 2, 2, dtype=torch.uint8), torch.zeros(0, dtype=torch.long))


def test_missing_dataset(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_fashion_mnist("test", root=tmp_path)
    with pytest.raises(ValueError, match="split"):
        load_fashion_mnist("val")


@pytest.mark.skipif(not DEFAULT_ROOT.is_dir(), reason="Debian dataset-fashion-mnist not installed")
def test_real_fashion_mnist_test_split():
    x, y = load_fashion_mnist("test")
    assert x.shape == (10000, 28, 28) and x.dtype == torch.uint8
    assert torch.equal(torch.bincount(y), torch.full((10,), 1000))
