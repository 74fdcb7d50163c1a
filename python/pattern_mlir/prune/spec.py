"""The pruning spec: what the compiler needs to know about each pruned weight.

Pattern layers (`layers`, keyed by qualified module name): the ordered pattern library, a
(P, 3, 3) bool array, and the assignment, an (O, I) int32 array holding the pattern id of each
(out, in) kernel or -1 where connectivity pruning removed it.

Block layers (`blocks`, keyed by qualified parameter name, e.g. 'rnn.weight_hh_l0'): the weight's
shape, the block height R (rows of dim 0 per block) and the kept-block mask, a
(ceil(dim0 / R), dim1) bool array; block [b, i] covers rows b*R .. b*R+R-1 (fewer in the last row
block), column i and the whole kernel window (blocks.py, docs/pruning.md).

The spec is plain data (numpy + JSON), so it can be written next to a safetensors file and read
back without executing any code. A spec without blocks is written exactly as before (version 1);
one with blocks is version 2, which adds block_sparsity, block_rows and blocks.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch

from .library import validate_library

__all__ = ["BLOCK_KINDS", "FORMAT", "BlockSpec", "LayerSpec", "PruneSpec"]

FORMAT = "pattern-mlir.prune-spec"
VERSION = 1  # pattern layers only
BLOCK_VERSION = 2  # with block layers
BLOCK_KINDS = ("conv", "linear", "lstm", "gru", "rnn", "attention")


@dataclass(eq=False)
class LayerSpec:
    """Library and assignment of one conv; validated on construction."""

    name: str
    library: np.ndarray  # (P, 3, 3) bool
    assignment: np.ndarray  # (O, I) int32, -1 = removed kernel

    def __post_init__(self) -> None:
        self.library = validate_library(self.library, f"layer {self.name!r} library")
        a = np.asarray(
            self.assignment.cpu() if isinstance(self.assignment, torch.Tensor) else self.assignment
        )
        if a.ndim != 2 or a.size == 0:
            raise ValueError(
                f"layer {self.name!r}: assignment must be a non-empty (O, I) array, "
                f"got shape {a.shape}"
            )
        if not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"layer {self.name!r}: assignment must hold integers, got {a.dtype}")
        bad = np.argwhere((a < -1) | (a >= len(self.library)))
        if len(bad):
            o, i = bad[0]
            raise ValueError(
                f"layer {self.name!r}: assignment[{o}, {i}] = {a[o, i]} is not -1 "
                f"or a pattern id in 0..{len(self.library) - 1}"
            )
        self.assignment = a.astype(np.int32)

    @property
    def kept_kernels(self) -> int:
        """Number of kernels that survive connectivity pruning."""
        return int((self.assignment >= 0).sum())

    @property
    def connectivity(self) -> float:
        """Achieved connectivity ratio: all kernels / kept kernels (inf if none is kept)."""
        kept = self.kept_kernels
        return self.assignment.size / kept if kept else float("inf")

    def mask(self) -> np.ndarray:
        """The (O, I, 3, 3) bool mask of weights allowed to be non-zero."""
        padded = np.concatenate([self.library, np.zeros((1, 3, 3), dtype=bool)])
        return padded[self.assignment]  # id -1 picks the all-false row

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "library": self.library.astype(int).tolist(),
            "assignment": self.assignment.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> LayerSpec:
        return cls(d["name"], np.asarray(d["library"]), np.asarray(d["assignment"], dtype=np.int64))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, LayerSpec)
            and self.name == other.name
            and np.array_equal(self.library, other.library)
            and np.array_equal(self.assignment, other.assignment)
        )


def _check_rows(rows, what: str) -> int:
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
        raise ValueError(f"{what}: block_rows must be an integer >= 1, got {rows!r}")
    return int(rows)


@dataclass(eq=False)
class BlockSpec:
    """Kept-block mask of one block-pruned weight; validated on construction.

    name: qualified parameter name (a key of model.state_dict()); kind: one of BLOCK_KINDS;
    shape: the weight's full shape (O, I, *kernel); rows: block height R;
    mask: (ceil(O / R), I) bool, True = block kept.
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    rows: int
    mask: np.ndarray

    def __post_init__(self) -> None:
        self.shape = tuple(int(d) for d in self.shape)
        if len(self.shape) < 2 or min(self.shape) < 1:
            raise ValueError(
                f"block layer {self.name!r}: shape must have >= 2 positive dims, got {self.shape}"
            )
        if self.kind not in BLOCK_KINDS:
            raise ValueError(
                f"block layer {self.name!r}: kind must be one of {BLOCK_KINDS}, got {self.kind!r}"
            )
        self.rows = _check_rows(self.rows, f"block layer {self.name!r}")
        m = np.asarray(self.mask.cpu() if isinstance(self.mask, torch.Tensor) else self.mask)
        want = (self.row_blocks, self.shape[1])
        if m.shape != want:
            raise ValueError(
                f"block layer {self.name!r}: mask must have shape {want} "
                f"(ceil({self.shape[0]} / {self.rows}), {self.shape[1]}), got {m.shape}"
            )
        if m.dtype != bool:
            if not np.isin(m, (0, 1)).all():
                raise ValueError(f"block layer {self.name!r}: mask must hold 0/1 or booleans")
            m = m.astype(bool)
        self.mask = m

    @property
    def row_blocks(self) -> int:
        """ceil(O / R): row blocks per column (the last one is shorter when R does not divide O)."""
        return -(-self.shape[0] // self.rows)

    @property
    def num_blocks(self) -> int:
        return self.row_blocks * self.shape[1]

    @property
    def kept_blocks(self) -> int:
        return int(self.mask.sum())

    @property
    def sparsity(self) -> float:
        """Fraction of blocks removed."""
        return 1.0 - self.kept_blocks / self.num_blocks

    def weight_mask(self) -> np.ndarray:
        """Bool mask of the weight's full shape: True where a weight may be non-zero."""
        rows = np.repeat(self.mask, self.rows, axis=0)[: self.shape[0]]  # (O, I)
        return np.broadcast_to(
            rows.reshape(rows.shape + (1,) * (len(self.shape) - 2)), self.shape
        ).copy()

    @property
    def kept_weights(self) -> int:
        window = int(np.prod(self.shape[2:], dtype=np.int64))
        heights = np.full(self.row_blocks, self.rows)
        heights[-1] = self.shape[0] - self.rows * (self.row_blocks - 1)
        return int((self.mask * heights[:, None]).sum()) * window

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "shape": list(self.shape),
            "rows": self.rows,
            # one string of '0'/'1' per row block, column i at character i
            "mask": ["".join("1" if v else "0" for v in row) for row in self.mask],
        }

    @classmethod
    def from_dict(cls, d: dict) -> BlockSpec:
        rows = d["mask"]
        for r in rows:
            if not isinstance(r, str) or set(r) - {"0", "1"}:
                raise ValueError(
                    f"block layer {d.get('name')!r}: mask rows must be strings of 0 and 1"
                )
        mask = np.array([[c == "1" for c in r] for r in rows], dtype=bool)
        if not rows:
            mask = mask.reshape(0, 0)
        return cls(d["name"], d["kind"], tuple(d["shape"]), d["rows"], mask)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BlockSpec)
            and self.name == other.name
            and self.kind == other.kind
            and self.shape == other.shape
            and self.rows == other.rows
            and np.array_equal(self.mask, other.mask)
        )


@dataclass(eq=False)
class PruneSpec:
    """Ordered layer specs plus the global settings that produced them.

    layers: pattern-pruned 3x3 convs by module name; blocks: block-pruned weights by parameter
    name; block_sparsity / block_rows: the settings the blocks were made with (0 / 8 when none).
    """

    layers: OrderedDict[str, LayerSpec] = field(default_factory=OrderedDict)
    num_patterns: int = 0
    connectivity: float = 1.0
    blocks: OrderedDict[str, BlockSpec] = field(default_factory=OrderedDict)
    block_sparsity: float = 0.0
    block_rows: int = 8

    def __post_init__(self) -> None:
        self.layers = OrderedDict(self.layers)
        for key, layer in self.layers.items():
            if key != layer.name:
                raise ValueError(
                    f"spec key {key!r} does not match its LayerSpec name {layer.name!r}"
                )
        self.blocks = OrderedDict(self.blocks)
        for key, b in self.blocks.items():
            if key != b.name:
                raise ValueError(f"spec key {key!r} does not match its BlockSpec name {b.name!r}")
        self.block_rows = _check_rows(self.block_rows, "spec")
        self.block_sparsity = float(self.block_sparsity)
        if not 0.0 <= self.block_sparsity < 1.0:
            raise ValueError(f"spec: block_sparsity must be in [0, 1), got {self.block_sparsity!r}")

    def __getitem__(self, name: str) -> LayerSpec:
        return self.layers[name]

    def __iter__(self):
        return iter(self.layers.values())

    def __len__(self) -> int:
        return len(self.layers)

    def masks(self) -> dict[str, torch.Tensor]:
        """Pattern layer name -> (O, I, 3, 3) bool tensor mask of the weight."""
        return {n: torch.from_numpy(s.mask()) for n, s in self.layers.items()}

    def weight_masks(self) -> dict[str, torch.Tensor]:
        """Qualified parameter name -> bool mask, for every weight the spec prunes (both kinds)."""
        out = {f"{n}.weight": torch.from_numpy(s.mask()) for n, s in self.layers.items()}
        out.update((n, torch.from_numpy(b.weight_mask())) for n, b in self.blocks.items())
        return out

    def to_dict(self) -> dict:
        d = {
            "format": FORMAT,
            "version": VERSION,
            "num_patterns": self.num_patterns,
            "connectivity": self.connectivity,
            "layers": [s.to_dict() for s in self.layers.values()],
        }
        if self.blocks or self.block_sparsity:
            d["version"] = BLOCK_VERSION
            d["block_sparsity"] = self.block_sparsity
            d["block_rows"] = self.block_rows
            d["blocks"] = [b.to_dict() for b in self.blocks.values()]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> PruneSpec:
        if d.get("format") != FORMAT or d.get("version") not in (VERSION, BLOCK_VERSION):
            raise ValueError(
                f"not a {FORMAT} version {VERSION} or {BLOCK_VERSION} document "
                f"(format={d.get('format')!r}, version={d.get('version')!r})"
            )
        layers = OrderedDict((s.name, s) for s in map(LayerSpec.from_dict, d["layers"]))
        extra = {}
        if d["version"] == BLOCK_VERSION:
            blocks = OrderedDict((b.name, b) for b in map(BlockSpec.from_dict, d["blocks"]))
            extra = {
                "blocks": blocks,
                "block_sparsity": float(d["block_sparsity"]),
                "block_rows": d["block_rows"],
            }
        return cls(layers, int(d["num_patterns"]), float(d["connectivity"]), **extra)

    def to_json(self) -> str:
        """Compact JSON: one line per layer field would be bulky for 512x512 assignments."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> PruneSpec:
        return cls.from_dict(json.loads(text))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PruneSpec)
            and list(self.layers) == list(other.layers)
            and all(a == b for a, b in zip(self, other))
            and self.num_patterns == other.num_patterns
            and self.connectivity == other.connectivity
            and list(self.blocks) == list(other.blocks)
            and all(a == b for a, b in zip(self.blocks.values(), other.blocks.values()))
            and self.block_sparsity == other.block_sparsity
            and self.block_rows == other.block_rows
        )
