"""Builds pattern dialect IR from numpy or torch data.

The bridge between tensors in a framework and the dialect: masks become a
`#pattern.library`, a dense OIHW weight becomes an assignment plus the kept-tap
weight rows that `pattern.conv2d` stores. Weights that do not conform to the
library are rejected here with the offending kernel named, before any IR exists.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mlir import ir
from mlir.dialects import arith

from .._mlir_libs import _patternDialects
from . import pattern as pattern_ops

ACTIVATIONS = ("none", "relu", "relu6", "clamp")


def _as_numpy(array) -> np.ndarray:
    """Accepts numpy arrays and torch tensors without importing torch."""
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    return np.asarray(array)


def masks_to_bits(masks) -> list[int]:
    """(P, KH, KW) boolean masks -> tap bitmasks (bit i = row-major tap i)."""
    masks = _as_numpy(masks).astype(bool)
    if masks.ndim != 3:
        raise ValueError(f"library masks must have shape (P, KH, KW), got {masks.shape}")
    flat = masks.reshape(masks.shape[0], -1)
    return [int(sum(1 << int(t) for t in np.flatnonzero(row))) for row in flat]


def library_attr(masks) -> ir.Attribute:
    """A `#pattern.library` from (P, KH, KW) boolean masks; verified by the dialect."""
    masks = _as_numpy(masks).astype(bool)
    bits = masks_to_bits(masks)
    kh, kw = masks.shape[1:]
    patterns = ", ".join(
        "[" + ", ".join(str(t) for t in range(kh * kw) if b >> t & 1) + "]" for b in bits
    )
    return ir.Attribute.parse(f"#pattern.library<{kh}x{kw}, [{patterns}]>")


def library_masks(attr: ir.Attribute) -> np.ndarray:
    """(P, KH, KW) boolean masks of a `#pattern.library` attribute."""
    kh, kw = _patternDialects.library_kernel(attr)
    # Unsigned: a mask keeping tap 63 (the last tap of an 8x8 kernel) does not fit int64.
    bits = np.array(_patternDialects.library_masks(attr), dtype=np.uint64)
    taps = np.arange(kh * kw, dtype=np.uint64)
    return ((bits[:, None] >> taps) & np.uint64(1)).astype(bool).reshape(-1, kh, kw)


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(rows, axis=0, return_counts=True)` for bool rows, in the same order.

    Each row becomes an integer, first column most significant (so integer order is the row
    order np.unique sorts by): a sort of integers instead of rows, much faster on
    VGG-16 (measured: docs/design.md, section 10).
    """
    n = rows.shape[1]
    if n > 62:
        return np.unique(rows, axis=0, return_counts=True)
    shifts = np.arange(n - 1, -1, -1, dtype=np.int64)
    values, counts = np.unique(rows.astype(np.int64) @ (1 << shifts), return_counts=True)
    return ((values[:, None] >> shifts) & 1).astype(bool), counts


def derive_library(weight, taps: int = 4, max_patterns: int = 56) -> np.ndarray | None:
    """The pattern library an OIHW weight conforms to, or None if it is not a pattern conv.

    Patterns are the distinct supports of kernels with exactly `taps` non-zeros,
    most frequent first. A kernel with fewer non-zeros must fit inside one of
    them; otherwise a pattern is completed for it (its support plus the centre
    and the lowest free taps). The weight is not a pattern conv when a kernel
    keeps more than `taps` taps, a pattern misses the centre of an odd kernel,
    no kernel is kept at all, or more than `max_patterns` patterns are needed.
    """
    weight = _as_numpy(weight)
    if weight.ndim != 4 or weight.shape[2] % 2 == 0 or weight.shape[3] % 2 == 0:
        return None
    kh, kw = weight.shape[2:]
    centre = (kh // 2) * kw + kw // 2
    support = (weight != 0).reshape(-1, kh * kw)
    counts = support.sum(axis=1)
    if counts.max(initial=0) == 0 or counts.max() > taps or not np.isfinite(weight).all():
        return None
    full, frequency = _unique_rows(support[counts == taps])
    library = [full[i] for i in np.argsort(-frequency, kind="stable")]
    for partial in _unique_rows(support[(counts > 0) & (counts < taps)])[0]:
        if any(not (partial & ~mask).any() for mask in library):
            continue
        completed = partial.copy()
        completed[centre] = True
        for tap in range(kh * kw):
            if completed.sum() >= taps:
                break
            completed[tap] = True
        library.append(completed)
    if len(library) > max_patterns or not all(mask[centre] for mask in library):
        return None
    return np.stack(library).reshape(-1, kh, kw)


def derive_assignment(weight, masks) -> np.ndarray:
    """Pattern id per (out, in) kernel of an OIHW weight, -1 for all-zero kernels.

    A kernel conforms when its non-zero taps lie inside one pattern; with fewer
    non-zeros than taps several patterns may cover it, and the first is taken
    (any covering pattern computes the same result). Raises ValueError naming
    the first kernel that no pattern covers.
    """
    weight = _as_numpy(weight)
    masks = _as_numpy(masks).astype(bool)
    if weight.ndim != 4 or weight.shape[2:] != masks.shape[1:]:
        raise ValueError(
            f"weight of shape {weight.shape} does not match {masks.shape[1]}x{masks.shape[2]} "
            "kernels in OIHW layout"
        )
    if not np.isfinite(weight).all():
        o, i = np.argwhere(~np.isfinite(weight).reshape(*weight.shape[:2], -1).all(-1))[0]
        raise ValueError(f"kernel (out={o}, in={i}) holds NaN or infinity")
    support = weight.reshape(*weight.shape[:2], -1) != 0
    outside = support[:, :, None, :] & ~masks.reshape(1, 1, len(masks), -1)
    covered = ~outside.any(-1)  # (O, I, P)
    assignment = np.where(covered.any(-1), covered.argmax(-1), -2).astype(np.int32)
    assignment[~support.any(-1)] = -1
    bad = np.argwhere(assignment == -2)
    if len(bad):
        o, i = bad[0]
        taps = np.flatnonzero(support[o, i]).tolist()
        raise ValueError(
            f"kernel (out={o}, in={i}) keeps taps {taps}, which no pattern of the library covers"
            f" ({len(bad)} non-conforming kernel(s) in all)"
        )
    return assignment


def kept_tap_weights(weight, masks, assignment) -> np.ndarray:
    """(K, taps) rows of kept weights, in the row-major order of `assignment`."""
    weight = _as_numpy(weight).astype(np.float32)
    masks = _as_numpy(masks).astype(bool)
    flat_masks = masks.reshape(len(masks), -1)
    flat = weight.reshape(*weight.shape[:2], -1)
    outs, ins = np.nonzero(assignment >= 0)
    taps = flat_masks[assignment[outs, ins]]  # (K, KH*KW) boolean, `taps` true per row
    return flat[outs, ins][taps].reshape(len(outs), int(flat_masks[0].sum()))


def conv_output_size(
    size: int, pad_lo: int, pad_hi: int, kernel: int, stride: int, dilation: int
) -> int:
    return (size + pad_lo + pad_hi - dilation * (kernel - 1) - 1) // stride + 1


def _pair(value: int | Sequence[int]) -> list[int]:
    return [int(value)] * 2 if isinstance(value, int) else [int(v) for v in value]


def build_conv2d(
    input_value: ir.Value,
    weight,
    masks,
    *,
    bias=None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    activation: str = "none",
    clamp: tuple[float, float] | None = None,
) -> ir.Value:
    """Creates weight constants and a `pattern.conv2d` at the insertion point.

    `weight` is a dense OIHW array (numpy or torch) whose kernels conform to
    `masks`; `padding` is one int, `[h, w]` (symmetric, as torch) or
    `[top, left, bottom, right]`.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {ACTIVATIONS}")
    masks = _as_numpy(masks).astype(bool)
    weight = _as_numpy(weight).astype(np.float32)
    assignment = derive_assignment(weight, masks)
    rows = kept_tap_weights(weight, masks, assignment)

    in_type = ir.RankedTensorType(input_value.type)
    n, _, h, w = in_type.shape
    strides, dilations = _pair(stride), _pair(dilation)
    pads = _pair(padding)
    pads = pads * 2 if len(pads) == 2 else pads
    oh = conv_output_size(h, pads[0], pads[2], masks.shape[1], strides[0], dilations[0])
    ow = conv_output_size(w, pads[1], pads[3], masks.shape[2], strides[1], dilations[1])
    f32 = ir.F32Type.get()
    out_type = ir.RankedTensorType.get([n, weight.shape[0], oh, ow], f32)

    weights_value = arith.constant(
        ir.RankedTensorType.get(list(rows.shape), f32), ir.DenseElementsAttr.get(rows)
    )
    bias_value = None
    if bias is not None:
        bias_np = _as_numpy(bias).astype(np.float32)
        bias_value = arith.constant(
            ir.RankedTensorType.get(list(bias_np.shape), f32), ir.DenseElementsAttr.get(bias_np)
        )
    attrs = {}
    if activation != "none":
        attrs["activation"] = ir.Attribute.parse(f"#pattern.activation<{activation}>")
    if clamp is not None:
        attrs["clamp_min"] = ir.FloatAttr.get(f32, clamp[0])
        attrs["clamp_max"] = ir.FloatAttr.get(f32, clamp[1])
    op = pattern_ops.Conv2DOp(
        out_type,
        input_value,
        weights_value,
        library_attr(masks),
        ir.DenseI32ArrayAttr.get(assignment.reshape(-1).tolist()),
        ir.DenseI64ArrayAttr.get(strides),
        ir.DenseI64ArrayAttr.get(pads),
        ir.DenseI64ArrayAttr.get(dilations),
        bias=bias_value,
        **attrs,
    )
    return op.result
