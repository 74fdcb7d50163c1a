"""The block stream of `pattern.block_conv2d` / `pattern.block_matmul`, from and to dense weights.

A weight of O outputs x I inputs x T taps is cut into row blocks of R consecutive outputs; a
block (R outputs x 1 input x all taps) is kept when any of its weights is non-zero. The
stream lists the kept blocks row block by row block, inputs increasing: `offsets` (row block
b owns entries offsets[b]..offsets[b+1]), `channels` (the input of each entry) and the
weights (K x T x R, rows past O zero). numpy only: the raise pass, tests and tools share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BlockStream", "block_density", "csr_bytes", "encode_blocks", "pick_block_rows"]

# Row-block heights the generated kernels split into register blocks of 4 or 8 rows, with
# the relative cost of a kept weight at that height: a 4-row block fills half a vector where
# the vector runs along outputs (batch-1 matmuls), and shares each input's index among fewer rows.
BLOCK_ROWS = {8: 1.0, 4: 1.1}


@dataclass(frozen=True)
class BlockStream:
    rows: int  # R, outputs per block
    outputs: int  # O
    inputs: int  # I
    offsets: np.ndarray  # int32, ceil(O / R) + 1
    channels: np.ndarray  # int32, K
    weights: np.ndarray  # float32, K x T x R

    @property
    def kept(self) -> int:
        return int(self.channels.size)

    @property
    def nbytes(self) -> int:
        return int(self.offsets.nbytes + self.channels.nbytes + self.weights.nbytes)

    def dense(self) -> np.ndarray:
        """The O x I x T weight the stream encodes."""
        blocks, taps = self.offsets.size - 1, self.weights.shape[1]
        out = np.zeros((blocks * self.rows, self.inputs, taps), np.float32)
        for b in range(blocks):
            lo, hi = int(self.offsets[b]), int(self.offsets[b + 1])
            # weights[k] is taps x rows; the dense slice is rows x taps.
            out[b * self.rows : (b + 1) * self.rows, self.channels[lo:hi], :] = self.weights[
                lo:hi
            ].transpose(2, 0, 1)
        return out[: self.outputs]


def _kept_blocks(weight: np.ndarray, rows: int) -> np.ndarray:
    """Boolean (ceil(O / R), I): the blocks holding a non-zero."""
    o, i = weight.shape[:2]
    blocks = -(-o // rows)
    nonzero = np.zeros((blocks * rows, i), bool)
    nonzero[:o] = (weight.reshape(o, i, -1) != 0).any(axis=2)
    return nonzero.reshape(blocks, rows, i).any(axis=1)


def block_density(weight: np.ndarray, rows: int) -> float:
    """Fraction of the weight's blocks (R x 1 x taps) that hold a non-zero."""
    return float(_kept_blocks(weight, rows).mean())


def pick_block_rows(weight: np.ndarray, max_density: float, rows: int = 0) -> int | None:
    """The block height with the least work among those keeping at most `max_density` of
    their blocks, or None.

    Work is the kept fraction times the height's relative cost (BLOCK_ROWS): weights pruned
    in 8-row blocks take 8, weights pruned in 4-row blocks (half the 8-row blocks partly
    kept) take 4. `rows` > 0 tries that height only.
    """
    best, best_work = None, float("inf")
    for r in (rows,) if rows else BLOCK_ROWS:
        density = block_density(weight, r)
        work = density * BLOCK_ROWS.get(r, 1.0)
        if density <= max_density and work < best_work:
            best, best_work = r, work
    return best


def encode_blocks(weight: np.ndarray, rows: int) -> BlockStream:
    """The block stream of an O x I (x taps...) weight with R = `rows`."""
    o, i = weight.shape[:2]
    w = np.ascontiguousarray(weight, np.float32).reshape(o, i, -1)
    taps = w.shape[2]
    kept = _kept_blocks(w, rows)
    blocks = kept.shape[0]
    padded = np.zeros((blocks * rows, i, taps), np.float32)
    padded[:o] = w
    block_ids, channels = np.nonzero(kept)  # row-major: by block, inputs increasing
    # Entry (b, c) holds padded[b*R:(b+1)*R, c, :] as taps x rows.
    stream = padded.reshape(blocks, rows, i, taps)[block_ids, :, channels, :].transpose(0, 2, 1)
    offsets = np.zeros(blocks + 1, np.int32)
    np.cumsum(kept.sum(axis=1), out=offsets[1:])
    return BlockStream(
        rows, o, i, offsets, channels.astype(np.int32), np.ascontiguousarray(stream, np.float32)
    )


def csr_bytes(weight: np.ndarray) -> int:
    """Bytes of the same weight in CSR (values, column indices, row pointers; 4 bytes each)."""
    o = weight.shape[0]
    nnz = int(np.count_nonzero(weight))
    return 4 * (2 * nnz + o + 1)
