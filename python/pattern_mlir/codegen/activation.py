"""Fused activations of a pattern conv epilogue (folded BatchNorm is already in the weights)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ACTIVATIONS", "Activation"]

ACTIVATIONS = ("none", "relu", "relu6", "clamp")


@dataclass(frozen=True)
class Activation:
    """kind is one of ACTIVATIONS; lo/hi bound the output (None = unbounded)."""

    kind: str = "none"
    lo: float | None = None
    hi: float | None = None

    @staticmethod
    def make(
        activation: str | Activation = "none", clamp: tuple[float, float] | None = None
    ) -> Activation:
        """From a name ("none", "relu", "relu6", "clamp" with ``clamp=(min, max)``)."""
        if isinstance(activation, Activation):
            return activation
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected one of {ACTIVATIONS}")
        if activation == "clamp":
            if clamp is None or len(clamp) != 2 or not clamp[0] <= clamp[1]:
                raise ValueError(
                    f"activation 'clamp' needs clamp=(min, max) with min <= max, got {clamp!r}"
                )
            return Activation("clamp", float(clamp[0]), float(clamp[1]))
        if clamp is not None:
            raise ValueError(f"clamp=... is only valid with activation='clamp', not {activation!r}")
        return {
            "none": Activation("none"),
            "relu": Activation("relu", 0.0, None),
            "relu6": Activation("relu6", 0.0, 6.0),
        }[activation]

    def apply(self, y: np.ndarray) -> np.ndarray:
        """Reference (numpy) semantics, for tests."""
        if self.lo is not None:
            y = np.maximum(y, np.float32(self.lo))
        if self.hi is not None:
            y = np.minimum(y, np.float32(self.hi))
        return y
