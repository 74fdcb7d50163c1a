"""What a compiled model takes and returns, and how a library carries it.

A saved library holds its signature as bytes under the symbol ``pattern_mlir_signature``:
a marker, the JSON of `Signature`, a NUL. Loading compares it with the manifest beside the
library, so a manifest that promises other shapes, another target or another CPU than the
code was built for is refused before any buffer reaches the code.
"""

from __future__ import annotations

import json
import mmap
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SIGNATURE_MARKER", "SIGNATURE_SYMBOL", "Signature", "TensorSpec", "embedded_signature"]

SIGNATURE_SYMBOL = "pattern_mlir_signature"
SIGNATURE_MARKER = b"pattern-mlir-signature:"
_SUPPORTED_DTYPES = ("float32", "int64", "int32")


class SignatureFormatError(ValueError):
    """A signature (from a manifest or a library) that does not have the expected form."""


@dataclass(frozen=True)
class TensorSpec:
    """Static shape and element type of one input or output; for an integer input that
    indexes a table (token ids into an nn.Embedding), the `bounds` [low, high) its values
    must lie in, which the runtime checks before the code reads the table."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    bounds: tuple[int, int] | None = None

    def to_json(self) -> dict:
        data = {"shape": list(self.shape), "dtype": self.dtype}
        if self.bounds is not None:
            data["bounds"] = list(self.bounds)
        return data

    @staticmethod
    def from_json(data) -> TensorSpec:
        """Parses and checks one spec; any other form is a `SignatureFormatError`."""
        if not isinstance(data, dict) or not {"shape", "dtype"} <= set(data) <= {
            "shape",
            "dtype",
            "bounds",
        }:
            raise SignatureFormatError(
                f"a tensor is {{'shape': [...], 'dtype': ..., 'bounds': [low, high] (optional)}}, "
                f"got {data!r}"
            )
        shape, dtype, bounds = data["shape"], data["dtype"], data.get("bounds")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise SignatureFormatError(f"a shape is a list of sizes >= 0, got {shape!r}")
        if dtype not in _SUPPORTED_DTYPES:
            raise SignatureFormatError(
                f"element type {dtype!r}; supported: {', '.join(_SUPPORTED_DTYPES)}"
            )
        if bounds is not None and (
            dtype == "float32"
            or not isinstance(bounds, list)
            or len(bounds) != 2
            or not all(type(b) is int for b in bounds)
            or bounds[0] >= bounds[1]
        ):
            raise SignatureFormatError(
                f"bounds are [low, high] with low < high, of an integer tensor; got {bounds!r}"
            )
        return TensorSpec(tuple(shape), dtype, None if bounds is None else tuple(bounds))


@dataclass(frozen=True)
class Signature:
    """The target and CPU a library was built for and the tensors its entry takes and returns."""

    target: str
    cpu: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def to_json(self) -> dict:
        return {
            "target": self.target,
            "cpu": self.cpu,
            "inputs": [s.to_json() for s in self.inputs],
            "outputs": [s.to_json() for s in self.outputs],
        }

    @staticmethod
    def from_json(data) -> Signature:
        if not isinstance(data, dict):
            raise SignatureFormatError(f"a signature is an object, got {data!r}")
        for key in ("target", "cpu"):
            if not isinstance(data.get(key), str):
                raise SignatureFormatError(f"{key!r} must be a string, got {data.get(key)!r}")
        tensors = {}
        for key in ("inputs", "outputs"):
            if not isinstance(data.get(key), list):
                raise SignatureFormatError(f"{key!r} must be a list, got {data.get(key)!r}")
            tensors[key] = tuple(TensorSpec.from_json(s) for s in data[key])
        if not tensors["outputs"]:
            raise SignatureFormatError("a model returns at least one tensor; 'outputs' is empty")
        return Signature(data["target"], data["cpu"], tensors["inputs"], tensors["outputs"])

    def to_bytes(self) -> bytes:
        """What the library holds under ``SIGNATURE_SYMBOL``."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return SIGNATURE_MARKER + text.encode() + b"\0"


def embedded_signature(library: Path) -> Signature | None:
    """The signature `library` carries, or None if it has none (or an unreadable one).

    Searched in the file's bytes rather than through the dynamic loader, so that it works
    for libraries of other architectures (arm64 builds on an x86 host) and before the
    library is trusted enough to be loaded.
    """
    with open(library, "rb") as file:
        if file.seek(0, 2) == 0:
            return None
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            start = data.find(SIGNATURE_MARKER)
            if start < 0:
                return None
            start += len(SIGNATURE_MARKER)
            end = data.find(b"\0", start)
            if end < 0:
                return None
            raw = data[start:end]
    try:
        return Signature.from_json(json.loads(raw))
    except (ValueError, SignatureFormatError):
        return None
