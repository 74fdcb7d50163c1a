"""A tensor as a strided view of the buffer it was reshaped, transposed or sliced from.

torch-mlir moves attention heads around with chains of `tensor.expand_shape`,
`linalg.transpose`, `tensor.collapse_shape` and `tensor.extract_slice` (q, k, v split out of
one projection, heads moved in front of tokens) before each batched matmul. Each of those
only renames addresses: element (i0, i1, ...) of the result lives at
`offset + sum(i_d * strides[d])` in the row-major buffer of the tensor at the start of the
chain. A kernel that takes arbitrary strides reads that buffer in place, and the copies the
chain would otherwise make (a transpose bufferizes to a scalar loop nest) disappear.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from .constants import defining_op

__all__ = ["View", "row_major", "view_of"]


@dataclass(frozen=True)
class View:
    base: ir.Value  # the tensor whose row-major buffer holds the elements
    base_shape: tuple[int, ...]
    offset: int
    strides: tuple[int, ...]  # per dimension of the viewed tensor, in elements of base

    @property
    def base_size(self) -> int:
        size = 1
        for d in self.base_shape:
            size *= d
        return size


def row_major(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return tuple(reversed(strides))


def _static_shape(value: ir.Value) -> tuple[int, ...] | None:
    t = value.type
    if not isinstance(t, ir.RankedTensorType) or not t.has_static_shape:
        return None
    return tuple(t.shape)


def _reassociation(op: ir.Operation) -> list[list[int]]:
    return [
        [ir.IntegerAttr(d).value for d in ir.ArrayAttr(group)]
        for group in ir.ArrayAttr(op.attributes["reassociation"])
    ]


def _ints(attr) -> list[int]:
    return [int(v) for v in attr]


def view_of(value: ir.Value, keep=lambda view: True) -> View | None:
    """`value` as a view of the furthest tensor up its chain of reshapes, transposes and static
    slices for which `keep(view)` holds (the value itself when none does); None for a tensor
    without a static shape."""
    shape = _static_shape(value)
    if shape is None:
        return None
    chosen = None
    for view in _views(value, shape):
        if keep(view):
            chosen = view
    return chosen or View(value, shape, 0, row_major(shape))


_STEPS = {
    "linalg.transpose",
    "tensor.expand_shape",
    "tensor.collapse_shape",
    "tensor.extract_slice",
}


def _views(value: ir.Value, shape: tuple[int, ...]) -> list[View]:
    """`value` as a view of itself, of its chain's first source, of that one's source, ..."""
    views = [View(value, shape, 0, row_major(shape))]
    op = defining_op(value)
    if (
        op is None
        or op.name not in _STEPS
        or len(op.results) != 1
        or len(op.operands) != (2 if op.name == "linalg.transpose" else 1)
    ):
        return views
    source_shape = _static_shape(op.operands[0])
    if source_shape is None:
        return views
    for up in _views(op.operands[0], source_shape):
        view = _step(op, up, shape, source_shape)
        if view is None:
            break
        views.append(view)
    return views


def _step(op: ir.Operation, up: View, shape, source_shape) -> View | None:
    """The view of `op`'s result given `up`, the view of its source."""
    if op.name == "linalg.transpose":
        perm = _ints(op.attributes["permutation"])
        return View(up.base, up.base_shape, up.offset, tuple(up.strides[p] for p in perm))
    if op.name == "tensor.expand_shape":
        strides = [0] * len(shape)
        for source_dim, group in enumerate(_reassociation(op)):
            step = up.strides[source_dim]
            for d in reversed(group):
                strides[d] = step
                step *= shape[d]
        return View(up.base, up.base_shape, up.offset, tuple(strides))
    if op.name == "tensor.collapse_shape":
        return _collapse(up, source_shape, _reassociation(op))
    return _slice(up, op, shape)


def _collapse(up: View, source_shape, groups: list[list[int]]) -> View | None:
    """Merged dimensions must be laid out one inside the other (unit dimensions aside)."""
    strides = []
    for group in groups:
        dims = [d for d in group if source_shape[d] != 1]
        for outer, inner in zip(dims, dims[1:]):
            if up.strides[outer] != up.strides[inner] * source_shape[inner]:
                return None
        strides.append(up.strides[dims[-1]] if dims else 1)
    return View(up.base, up.base_shape, up.offset, tuple(strides))


def _slice(up: View, op: ir.Operation, shape: tuple[int, ...]) -> View | None:
    offsets = _ints(op.attributes["static_offsets"])
    sizes = _ints(op.attributes["static_sizes"])
    steps = _ints(op.attributes["static_strides"])
    if min(offsets + sizes + steps) < 0:  # dynamic entries print as a negative sentinel
        return None
    offset = up.offset + sum(o * s for o, s in zip(offsets, up.strides))
    strides = [s * k for s, k in zip(up.strides, steps)]
    # A rank-reducing slice drops unit dimensions; which ones does not matter for addressing.
    kept, j = [], 0
    for d, size in enumerate(sizes):
        if j < len(shape) and size == shape[j]:
            kept.append(strides[d])
            j += 1
        elif size != 1:
            return None
    if j != len(shape):
        return None
    return View(up.base, up.base_shape, offset, tuple(kept))
