"""The pruning spec: what the compiler needs to know about each pruned conv.

Per layer (qualified module name): the ordered pattern library, a (P, 3, 3) bool array, and the
assignment, an (O, I) int32 array holding the pattern id of each (out, in) kernel or -1 where
connectivity pruning removed it. The spec is plain data (numpy + JSON), so it can be written next to
a safetensors file and read back without executing any code.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch

from .library import validate_library

__all__ = ["FORMAT", "LayerSpec", "PruneSpec"]

FORMAT = "pattern-mlir.prune-spec"
VERSION = 1


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


@dataclass(eq=False)
class PruneSpec:
    """Ordered layer specs plus the global settings that produced them."""

    layers: OrderedDict[str, LayerSpec] = field(default_factory=OrderedDict)
    num_patterns: int = 0
    connectivity: float = 1.0

    def __post_init__(self) -> None:
        self.layers = OrderedDict(self.layers)
        for key, layer in self.layers.items():
            if key != layer.name:
                raise ValueError(
                    f"spec key {key!r} does not match its LayerSpec name {layer.name!r}"
                )

    def __getitem__(self, name: str) -> LayerSpec:
        return self.layers[name]

    def __iter__(self):
        return iter(self.layers.values())

    def __len__(self) -> int:
        return len(self.layers)

    def masks(self) -> dict[str, torch.Tensor]:
        """Layer name -> (O, I, 3, 3) bool tensor mask of the weight."""
        return {n: torch.from_numpy(s.mask()) for n, s in self.layers.items()}

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "num_patterns": self.num_patterns,
            "connectivity": self.connectivity,
            "layers": [s.to_dict() for s in self.layers.values()],
        }

    @classmethod
    def from_dict(cls, d: dict) -> PruneSpec:
        if d.get("format") != FORMAT or d.get("version") != VERSION:
            raise ValueError(
                f"not a {FORMAT} version {VERSION} document "
                f"(format={d.get('format')!r}, version={d.get('version')!r})"
            )
        layers = OrderedDict((s.name, s) for s in map(LayerSpec.from_dict, d["layers"]))
        return cls(layers, int(d["num_patterns"]), float(d["connectivity"]))

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
        )
