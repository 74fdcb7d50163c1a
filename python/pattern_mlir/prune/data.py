"""Fashion-MNIST from Debian's dataset-fashion-mnist (idx.gz files), as re-iterable batches.

No torchvision (it does not import beside torch 2.13 here) and no download: the idx format is four
lines of struct parsing. Batches are made from tensors held in memory (60k x 28 x 28 bytes), with a
per-epoch shuffle seeded by (seed, epoch), so training is reproducible and needs no worker
processes.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import torch

__all__ = ["DEFAULT_ROOT", "MEAN", "STD", "Batches", "load_fashion_mnist", "read_idx"]

DEFAULT_ROOT = Path("/usr/share/datasets/fashion-mnist")
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training-set pixel statistics (of x / 255)
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """Parse an idx file (optionally gzipped): magic 0 0 <type> <ndim>, big-endian dims, data."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise ValueError(f"{path}: not an idx file (bad magic {raw[:4].hex()})")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=_DTYPES[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(
            f"{path}: header says {dims} ({int(np.prod(dims))} items), file holds {data.size}"
        )
    return data.reshape(dims).astype(data.dtype.newbyteorder("="))


def load_fashion_mnist(
    split: str = "train", root: str | Path = DEFAULT_ROOT
) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 (N, 28, 28), labels int64 (N,)) of the 'train' or 'test' split."""
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root)
    img_file, lbl_file = (root / f for f in _FILES[split])
    if not img_file.is_file() or not lbl_file.is_file():
        raise FileNotFoundError(
            f"Fashion-MNIST not found in {root}; install the Debian package dataset-fashion-mnist"
        )
    images, labels = read_idx(img_file), read_idx(lbl_file)
    if len(images) != len(labels):
        raise ValueError(
            f"{root}: {len(images)} images but {len(labels)} labels in split {split!r}"
        )
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


class Batches:
    """Re-iterable (input, label) batches: normalised float (B, 1, H, W) inputs, int64 labels.

    shuffle: a new permutation each epoch from a generator seeded with (seed, epoch number).
    limit: use only the first `limit` samples (small, fast runs and tests).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int = 128,
        shuffle: bool = False,
        seed: int = 0,
        limit: int | None = None,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = len(images) if limit is None else min(limit, len(images))
        if n == 0:
            raise ValueError("Batches: no samples (empty data set or limit=0)")
        self.images, self.labels = images[:n], labels[:n]
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.epoch = 0

    def __len__(self) -> int:
        return (len(self.images) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = len(self.images)
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(n, generator=g)
        else:
            order = torch.arange(n)
        self.epoch += 1
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            x = self.images[idx].unsqueeze(1).float().div_(255).sub_(MEAN).div_(STD)
            yield x, self.labels[idx]
