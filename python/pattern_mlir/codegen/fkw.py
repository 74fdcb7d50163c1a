"""Filter-kernel reorder (FKR) and FKW compressed weight packing for pattern convs.

A pattern-pruned 3x3 conv keeps, per (output, input) channel pair, either nothing
(connectivity pruning, assignment -1) or exactly the T taps of one library pattern.
The generated code wants three things from the weight layout:

* filters with equal work next to each other (uniform trip counts, easy thread balance):
  filters are reordered by kept-kernel count, then by pattern histogram;
* per filter, its kernels grouped by pattern, so one specialised loop per pattern walks a
  contiguous run: ``offsets[f * P + p]`` .. ``offsets[f * P + p + 1]``;
* per kernel only what varies at run time: the input channel (int32) and T tap weights.
  Tap positions are compile-time constants of the pattern, so no column index is stored
  per weight. That is why FKW is smaller than CSR for any realistic layer.

Within one (filter, pattern) run kernels are sorted by input channel, so input rows stream
in address order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "PackedFKW",
    "balanced_partition",
    "channel_splits",
    "csr_nbytes",
    "filter_kernel_reorder",
    "fkw_nbytes",
    "library_taps",
    "pack",
    "project",
    "unpack",
    "unpack_assignment",
    "validate_pattern_layer",
]


@dataclass(frozen=True, eq=False)
class PackedFKW:
    """FKW arrays of one pattern conv (all C-contiguous, ready to pass as memrefs).

    filter_order: int32[O], reordered position -> original output channel.
    offsets:      int32[O*P+1], kernels of reordered filter f with pattern p are
                  ``[offsets[f*P+p], offsets[f*P+p+1])`` in streaming order.
    channels:     int32[K], input channel of each kept kernel in streaming order.
    weights:      float32[K, T], tap weights in the pattern mask's row-major tap order.
    library:      bool[P, 3, 3], the pattern masks (each with T taps).
    in_channels:  I (input channels of the conv).
    """

    filter_order: np.ndarray
    offsets: np.ndarray
    channels: np.ndarray
    weights: np.ndarray
    library: np.ndarray
    in_channels: int

    @property
    def out_channels(self) -> int:
        return int(self.filter_order.shape[0])

    @property
    def num_patterns(self) -> int:
        return int(self.library.shape[0])

    @property
    def taps_per_kernel(self) -> int:
        return int(self.weights.shape[1])

    @property
    def num_kernels(self) -> int:
        return int(self.channels.shape[0])

    def counts(self) -> np.ndarray:
        """int[O, P]: kernels of each reordered filter with each pattern."""
        return np.diff(self.offsets).reshape(self.out_channels, self.num_patterns)

    def kernels_per_filter(self) -> np.ndarray:
        """int[O]: kept kernels of each reordered filter."""
        return self.counts().sum(axis=1)

    def pattern_ids(self) -> np.ndarray:
        """int32[K]: pattern of each kept kernel in streaming order."""
        run_pattern = np.tile(np.arange(self.num_patterns, dtype=np.int32), self.out_channels)
        return np.repeat(run_pattern, np.diff(self.offsets))

    def filter_ids(self) -> np.ndarray:
        """int32[K]: reordered filter of each kept kernel in streaming order."""
        return np.repeat(np.arange(self.out_channels, dtype=np.int32), self.kernels_per_filter())

    def kept_macs_per_pixel(self) -> int:
        """Multiply-adds per output pixel (all filters): K * T."""
        return self.num_kernels * self.taps_per_kernel


def library_taps(library: np.ndarray) -> np.ndarray:
    """int64[P, T, 2]: (ky, kx) of each pattern's taps in row-major order.

    Raises ValueError unless every mask is 3x3 and all have the same, non-zero tap count.
    """
    lib = np.asarray(library)
    if lib.ndim != 3 or lib.shape[1:] != (3, 3) or lib.shape[0] < 1:
        raise ValueError(f"library must have shape (P, 3, 3) with P >= 1, got {lib.shape}")
    lib = lib.astype(bool)
    counts = lib.reshape(lib.shape[0], 9).sum(axis=1)
    if counts[0] == 0 or np.any(counts != counts[0]):
        raise ValueError(
            f"library patterns must all keep the same non-zero tap count, got {counts.tolist()}"
        )
    return np.stack([np.argwhere(m) for m in lib])


def validate_pattern_layer(
    weights: np.ndarray, library: np.ndarray, assignment: np.ndarray
) -> None:
    """Check shapes, dtypes and id ranges of a (weights, library, assignment) triple."""
    w = np.asarray(weights)
    if w.ndim != 4 or w.shape[2:] != (3, 3):
        raise ValueError(f"weights must have shape (O, I, 3, 3), got {w.shape}")
    library_taps(library)
    a = np.asarray(assignment)
    if a.shape != w.shape[:2]:
        raise ValueError(f"assignment must have shape {w.shape[:2]} (O, I), got {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"assignment must hold integers, got dtype {a.dtype}")
    num_patterns = np.asarray(library).shape[0]
    bad = np.argwhere((a < -1) | (a >= num_patterns))
    if bad.size:
        o, i = bad[0]
        raise ValueError(f"assignment[{o}, {i}] = {a[o, i]} is outside [-1, {num_patterns})")


def project(weights: np.ndarray, library: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """Dense float32 weights with everything outside the assigned pattern zeroed."""
    validate_pattern_layer(weights, library, assignment)
    lib = np.asarray(library).astype(bool)
    a = np.asarray(assignment)
    mask = np.where((a >= 0)[..., None, None], lib[np.maximum(a, 0)], False)
    return np.where(mask, np.asarray(weights, dtype=np.float32), np.float32(0))


def filter_kernel_reorder(assignment: np.ndarray, num_patterns: int) -> np.ndarray:
    """FKR: int32[O], reordered position -> original filter.

    Most kept kernels first, ties broken by the pattern histogram so filters with the same
    per-pattern trip counts sit together; the original index keeps the sort stable.
    """
    a = np.asarray(assignment)
    hist = np.stack([(a == p).sum(axis=1) for p in range(num_patterns)], axis=1)
    count = hist.sum(axis=1)
    keys = [np.arange(a.shape[0])] + [-hist[:, p] for p in reversed(range(num_patterns))] + [-count]
    return np.lexsort(keys).astype(np.int32)


def pack(
    weights: np.ndarray,
    library: np.ndarray,
    assignment: np.ndarray,
    filter_order: np.ndarray | None = None,
) -> PackedFKW:
    """Pack the kept taps into FKW arrays, filters in ``filter_order`` (default: FKR's).

    Values of ``weights`` outside the assigned pattern are ignored (they are pruned).
    Raises ValueError if ``filter_order`` is not a permutation of the filters.
    """
    validate_pattern_layer(weights, library, assignment)
    w = np.asarray(weights, dtype=np.float32)
    taps = library_taps(library)
    lib = np.asarray(library).astype(bool)
    a = np.asarray(assignment).astype(np.int64)
    num_out, num_in = a.shape
    num_patterns = lib.shape[0]

    if filter_order is None:
        filter_order = filter_kernel_reorder(a, num_patterns)
    filter_order = np.asarray(filter_order, dtype=np.int32)
    if filter_order.shape != (num_out,) or not np.array_equal(
        np.sort(filter_order), np.arange(num_out)
    ):
        raise ValueError(f"filter order must be a permutation of the {num_out} filters")
    position = np.empty(num_out, dtype=np.int64)
    position[filter_order] = np.arange(num_out)

    # Streaming order: by reordered filter, then pattern, then input channel.
    o_idx, i_idx = np.nonzero(a >= 0)
    p_idx = a[o_idx, i_idx]
    f_idx = position[o_idx]
    order = np.lexsort((i_idx, p_idx, f_idx))
    o_idx, i_idx, p_idx, f_idx = o_idx[order], i_idx[order], p_idx[order], f_idx[order]

    run = np.bincount(f_idx * num_patterns + p_idx, minlength=num_out * num_patterns)
    offsets = np.zeros(num_out * num_patterns + 1, dtype=np.int64)
    np.cumsum(run, out=offsets[1:])
    if offsets[-1] > np.iinfo(np.int32).max:
        raise ValueError("too many kept kernels for int32 offsets")

    kernel_taps = taps[p_idx]  # (K, T, 2)
    packed_w = w[o_idx[:, None], i_idx[:, None], kernel_taps[..., 0], kernel_taps[..., 1]]
    return PackedFKW(
        filter_order=np.ascontiguousarray(filter_order),
        offsets=offsets.astype(np.int32),
        channels=i_idx.astype(np.int32),
        weights=np.ascontiguousarray(packed_w.reshape(-1, taps.shape[1]), dtype=np.float32),
        library=lib.copy(),
        in_channels=num_in,
    )


def unpack(packed: PackedFKW) -> np.ndarray:
    """Dense float32 (O, I, 3, 3) weights of a packed layer (zeros where pruned)."""
    taps = library_taps(packed.library)
    dense = np.zeros((packed.out_channels, packed.in_channels, 3, 3), dtype=np.float32)
    orig = packed.filter_order[packed.filter_ids()]
    kernel_taps = taps[packed.pattern_ids()]
    dense[orig[:, None], packed.channels[:, None], kernel_taps[..., 0], kernel_taps[..., 1]] = (
        packed.weights
    )
    return dense


def unpack_assignment(packed: PackedFKW) -> np.ndarray:
    """int32 (O, I) assignment of a packed layer (-1 where the kernel is removed)."""
    a = np.full((packed.out_channels, packed.in_channels), -1, dtype=np.int32)
    a[packed.filter_order[packed.filter_ids()], packed.channels] = packed.pattern_ids()
    return a


def fkw_nbytes(packed: PackedFKW) -> int:
    """Bytes of the FKW arrays: filter order, offsets, channels and weights."""
    return int(
        packed.filter_order.nbytes
        + packed.offsets.nbytes
        + packed.channels.nbytes
        + packed.weights.nbytes
    )


def csr_nbytes(weights: np.ndarray | PackedFKW) -> int:
    """Bytes of CSR (float32 values, int32 column indices and row pointers) of the same weights.

    The matrix is (O, I*9). For a PackedFKW the kept taps are the structural non-zeros.
    """
    if isinstance(weights, PackedFKW):
        nnz, rows = weights.num_kernels * weights.taps_per_kernel, weights.out_channels
    else:
        w = np.asarray(weights)
        nnz, rows = int(np.count_nonzero(w)), w.shape[0]
    return int(nnz * 4 + nnz * 4 + (rows + 1) * 4)


def balanced_partition(
    packed: PackedFKW, num_groups: int, overhead_kernels: float = 1.0
) -> np.ndarray:
    """Split reordered filters into ``num_groups`` contiguous ranges of about equal work.

    Work of a filter = kept kernels + ``overhead_kernels`` (its epilogue and loop set-up, so
    filters with no kept kernel are not free). Returns int64[num_groups + 1] boundaries:
    group g owns reordered filters ``[b[g], b[g+1])``; groups may be empty.
    """
    if num_groups < 1:
        raise ValueError(f"num_groups must be >= 1, got {num_groups}")
    work = packed.kernels_per_filter().astype(np.float64) + overhead_kernels
    prefix = np.concatenate([[0.0], np.cumsum(work)])
    targets = prefix[-1] * np.arange(num_groups + 1) / num_groups
    # Each boundary goes to the filter edge nearest its target share.
    idx = np.searchsorted(prefix, targets)
    idx = np.clip(idx, 0, len(prefix) - 1)
    lower = np.clip(idx - 1, 0, None)
    nearer = np.abs(prefix[lower] - targets) <= np.abs(prefix[idx] - targets)
    bounds = np.where(nearer, lower, idx).astype(np.int64)
    bounds[0], bounds[-1] = 0, packed.out_channels
    return np.maximum.accumulate(bounds)


def channel_splits(packed: PackedFKW, block: int) -> np.ndarray:
    """int32[O*P, CB+1]: where each (filter, pattern) run crosses channel-block boundaries.

    Kernels of run i = f*P + p with channels in ``[j*block, (j+1)*block)`` are
    ``[s[i, j], s[i, j+1])``; runs are channel-sorted, so these are contiguous sub-ranges of the
    FKW stream and the FKW arrays stay as they are. CB = ceil(I / block).
    """
    if block < 1:
        raise ValueError(f"channel block must be >= 1, got {block}")
    num_blocks = -(-packed.in_channels // block)
    runs = packed.out_channels * packed.num_patterns
    run_of_kernel = np.repeat(np.arange(runs), np.diff(packed.offsets))
    cnt = np.bincount(
        run_of_kernel * num_blocks + packed.channels // block, minlength=runs * num_blocks
    )
    splits = np.zeros((runs, num_blocks + 1), dtype=np.int64)
    np.cumsum(cnt.reshape(runs, num_blocks), axis=1, out=splits[:, 1:])
    splits += packed.offsets[:-1, None]
    return splits.astype(np.int32)
