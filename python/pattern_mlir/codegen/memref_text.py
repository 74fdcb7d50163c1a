"""Type texts shared by the planners that write kernel entries as MLIR text."""

from __future__ import annotations

from mlir import ir

__all__ = ["memref_type", "static_f32_shape"]


def memref_type(shape, layout: str = "", element: str = "f32") -> str:
    """`memref<AxBx...xelement[, layout]>` for a static shape."""
    dims = "x".join(str(int(d)) for d in shape)
    return f"memref<{dims}x{element}{', ' + layout if layout else ''}>"


def static_f32_shape(value: ir.Value) -> tuple[int, ...] | None:
    """The shape of a statically shaped f32 tensor value, else None."""
    t = value.type
    if (
        not isinstance(t, ir.RankedTensorType)
        or not t.has_static_shape
        or str(t.element_type) != "f32"
    ):
        return None
    return tuple(t.shape)
