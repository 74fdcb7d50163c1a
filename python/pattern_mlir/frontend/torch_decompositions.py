"""Decompositions applied before torch-mlir imports a model; imported only in the import child.

torch-mlir lowers adaptive pooling only when the input size is a multiple of the output size
(a fixed window stride). For any other size it emits `cf.assert false, "unimplemented: only
support cases with fixed stride size."`, code that aborts the process running it. Here those
cases become one plain window per output cell, with torch's window bounds
(start = floor(i * size / out), end = ceil((i + 1) * size / out)): slices and a reduction,
which every target compiles. Sizes with a fixed stride keep torch-mlir's own lowering.

Negative padding (cropping with F.pad) becomes a slice and grouped transposed convs one
transposed conv per group: torch-mlir lowers cropping and depthwise transposed convs to IR
that later passes reject (a tensor.pad of negative size; a tensor.collapse_shape of the
wrong rank).

tanh-approximated GELU is written out with sqrt(2 / pi) to f32 precision: torch-mlir's own
lowering uses 0.797724 for it (0.7978846 is right), which puts its results up to 4e-5
(relative) off torch's. Exact GELU multiplies by sqrt(1/2) as torch does, where torch-mlir
divides by sqrt(2).

torch-mlir lowers cumsum to `tm_tensor.scan`, a dialect the compiler does not have. Here it
becomes a Hillis-Steele scan: ceil(log2 n) steps, each adding the tensor shifted by 1, 2, 4, ...
along the dimension; slices, concatenations and adds, so every target compiles it with no
constant growing with n. The sums are associated differently from torch's running sum, which
changes the result by rounding only (relative error about log2(n) ulp).

Attention's safe softmax (rows of only -inf give 0) corrects the row maxima and sums instead
of building a mask as large as the scores.

Layer norm corrects its mean with the mean of the deviations from it, so a row that barely
varies normalises to what torch gives (its kernel's mean of equal values is exact). Group
norm keeps torch-mlir's lowering: the same correction made it measurably slower (an extra
pass over the group that the demoted lowering's merged sums avoid; docs/design.md, section
10), and no fuzz case needed it.

Linear, bilinear and trilinear upsampling go one spatial dimension at a time: two rows
picked by constant indices and blended with constant weights, per dimension. torch's own
decomposition reads all 2^d corners of each output element with gathers; one dimension at a
time, only the last dimension gathers, and it gathers two values per element.

Nearest (and nearest-exact) upsampling picks source indices computed as ATen computes them,
in float32 from the scale (in / out, or 1 / scale_factor). torch-mlir divides the output
index by out / in instead, which rounds differently: for 28 -> 4 it reads rows 0, 6, 13, 21
where torch reads 0, 7, 14, 21. Here the indices are traced from an arange (so they fold to
constants) and each spatial dimension is one index_select.
"""

from __future__ import annotations

import math

import numpy as np
import torch

aten = torch.ops.aten


def _windows(size: int, out: int) -> list[tuple[int, int]]:
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def _out_size(output_size, x: torch.Tensor) -> tuple[int, int]:
    oh, ow = output_size
    return (x.shape[-2] if oh is None else oh), (x.shape[-1] if ow is None else ow)


def _fixed_stride(x: torch.Tensor, oh: int, ow: int) -> bool:
    return x.shape[-2] % oh == 0 and x.shape[-1] % ow == 0


def adaptive_avg_pool2d(x: torch.Tensor, output_size):
    oh, ow = _out_size(output_size, x)
    if _fixed_stride(x, oh, ow):
        return NotImplemented
    rows = [
        torch.stack(
            [x[..., h0:h1, w0:w1].mean(dim=(-2, -1)) for w0, w1 in _windows(x.shape[-1], ow)],
            dim=-1,
        )
        for h0, h1 in _windows(x.shape[-2], oh)
    ]
    return torch.stack(rows, dim=-2)


def adaptive_max_pool2d(x: torch.Tensor, output_size):
    """(values, indices into the flattened H x W plane), as aten returns them."""
    oh, ow = _out_size(output_size, x)
    if _fixed_stride(x, oh, ow):
        return NotImplemented
    width = x.shape[-1]
    value_rows, index_rows = [], []
    for h0, h1 in _windows(x.shape[-2], oh):
        values, indices = [], []
        for w0, w1 in _windows(width, ow):
            window = x[..., h0:h1, w0:w1].flatten(-2)
            value, local = window.max(dim=-1)
            values.append(value)
            indices.append((h0 + local // (w1 - w0)) * width + w0 + local % (w1 - w0))
        value_rows.append(torch.stack(values, dim=-1))
        index_rows.append(torch.stack(indices, dim=-1))
    return torch.stack(value_rows, dim=-2), torch.stack(index_rows, dim=-2)


def cumsum(x: torch.Tensor, dim: int, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    if x.dim() == 0:
        return x.clone()
    dim %= x.dim()
    n, shift = x.shape[dim], 1
    while shift < n:
        zeros = torch.zeros_like(x.narrow(dim, 0, shift))
        x = x + torch.cat([zeros, x.narrow(dim, 0, n - shift)], dim)
        shift *= 2
    return x


def constant_pad_nd(x: torch.Tensor, pad, value=0.0):
    """Negative padding (F.pad cropping) as the non-negative padding, then a slice: torch-mlir
    writes a tensor.pad of negative size, which bufferization rejects. Padding first keeps
    every intermediate as large as the result (cropping first can leave a dimension empty)."""
    if all(p >= 0 for p in pad):
        return NotImplemented
    rest = [max(p, 0) for p in pad]
    y = torch.constant_pad_nd(x, rest, value) if any(rest) else x.clone()
    for index in range(0, len(pad), 2):
        dim = x.dim() - 1 - index // 2
        cut_low, cut_high = max(-pad[index], 0), max(-pad[index + 1], 0)
        if cut_low or cut_high:
            y = y.narrow(dim, cut_low, y.shape[dim] - cut_low - cut_high)
    return y


def convolution(x, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """Transposed convs torch-mlir lowers wrongly, rewritten as ones it lowers right:
    * padding beyond dilation * (kernel - 1) (a 1x1 transposed conv with padding 1): the
      canvas torch-mlir builds is then too small and it slices past its end. Padding a
      transposed conv crops its output, so the conv runs with the padding it can take and
      the rest is cropped with a slice;
    * groups: one transposed conv per group, concatenated. torch-mlir's lowering of a
      depthwise transposed conv (one input channel per group) emits an invalid
      tensor.collapse_shape; other group counts go the same way, so there is one lowering."""
    if not transposed:
        return NotImplemented
    kernel = weight.shape[2:]
    excess = [max(p - d * (k - 1), 0) for p, d, k in zip(padding, dilation, kernel)]
    if any(excess):
        inner = [p - e for p, e in zip(padding, excess)]
        y = convolution(x, weight, bias, stride, inner, dilation, True, output_padding, groups)
        if y is NotImplemented:
            y = aten.convolution.default(
                x, weight, bias, stride, inner, dilation, True, output_padding, groups
            )
        for dim, e in enumerate(excess, start=2):
            if e:
                y = y.narrow(dim, e, y.shape[dim] - 2 * e)
        return y
    if groups == 1:
        return NotImplemented
    xs, ws = x.chunk(groups, dim=1), weight.chunk(groups, dim=0)
    bs = bias.chunk(groups) if bias is not None else [None] * groups
    parts = [
        aten.convolution.default(xg, wg, bg, stride, padding, dilation, True, output_padding, 1)
        for xg, wg, bg in zip(xs, ws, bs)
    ]
    return torch.cat(parts, dim=1)


def _linear_taps(x: torch.Tensor, dim: int, out: int, align_corners: bool, scale):
    """(first source index, second source index, weight of the second) per output index along
    `dim`, computed as ATen's upsample kernels do in float32 (UpSample.h:
    area_pixel_compute_scale, area_pixel_compute_source_index, guard_index_and_lambda). Traced
    from an arange, so the compiler folds them into constants."""
    size, f32 = x.shape[dim], np.float32
    if align_corners:
        ratio = f32(size - 1) / f32(out - 1) if out > 1 else f32(0)
    else:
        ratio = f32(1) / f32(scale) if scale is not None and scale > 0 else f32(size) / f32(out)
    index = torch.arange(out, dtype=torch.float32, device=x.device)
    if align_corners:
        source = index * float(ratio)
    else:
        source = ((index + 0.5) * float(ratio) - 0.5).clamp_min(0)
    first = source.to(torch.int64).clamp_max(size - 1)
    second = (first + 1).clamp_max(size - 1)
    weight = (source - first.to(torch.float32)).clamp(0, 1).to(x.dtype)
    return first, second, weight


def _upsample_linear(x: torch.Tensor, output_size, align_corners: bool, scales) -> torch.Tensor:
    """Linear interpolation along each spatial dimension in turn (the last `len(output_size)`
    dims), outermost first."""
    spatial, result = len(output_size), x
    for k in range(spatial):
        dim = x.dim() - spatial + k
        if output_size[k] == result.shape[dim]:
            continue  # torch copies a dimension whose size does not change
        first, second, weight = _linear_taps(result, dim, output_size[k], align_corners, scales[k])
        weight = weight.reshape([-1] + [1] * (spatial - k - 1))
        low, high = result.index_select(dim, first), result.index_select(dim, second)
        result = low * (1 - weight) + high * weight
    return x.clone() if result is x else result


def _sizes_and_scales(x: torch.Tensor, spatial: int, output_size, scale_factors):
    """(output size, scale or None) per spatial dim, from the `.vec` overloads' arguments."""
    sizes = x.shape[-spatial:]
    if output_size is not None:
        return list(output_size), [None] * spatial
    return [int(s * f) for s, f in zip(sizes, scale_factors)], list(scale_factors)


def upsample_linear_vec(x, output_size, align_corners, scale_factors):
    spatial = x.dim() - 2
    sizes, scales = _sizes_and_scales(x, spatial, output_size, scale_factors)
    return _upsample_linear(x, sizes, align_corners, scales)


def upsample_linear1d(x, output_size, align_corners, scales=None):
    return _upsample_linear(x, output_size, align_corners, [scales])


def upsample_bilinear2d(x, output_size, align_corners, scales_h=None, scales_w=None):
    return _upsample_linear(x, output_size, align_corners, [scales_h, scales_w])


def upsample_trilinear3d(
    x, output_size, align_corners, scales_d=None, scales_h=None, scales_w=None
):
    return _upsample_linear(x, output_size, align_corners, [scales_d, scales_h, scales_w])


def _nearest_indices(size: int, out: int, scale, exact: bool) -> torch.Tensor:
    """Source index per output index along one dimension (UpSample.h: nearest_idx,
    nearest_neighbor_compute_source_index and its exact variant)."""
    f32 = np.float32
    ratio = f32(1.0 / scale) if scale is not None and scale > 0 else f32(size) / f32(out)
    index = torch.arange(out, dtype=torch.float32)
    if exact:
        index = index + 0.5
    return torch.floor(index * float(ratio)).to(torch.int64).clamp_max(size - 1)


def _upsample_nearest(x: torch.Tensor, output_size, scales, exact: bool) -> torch.Tensor:
    spatial = len(output_size)
    picks = []
    for k in range(spatial):
        size, out = x.shape[x.dim() - spatial + k], output_size[k]
        if out == size and (not exact or scales[k] in (None, 1.0)):
            index = torch.arange(size)  # nearest_idx's copy case
        else:
            index = _nearest_indices(size, out, scales[k], exact)
        picks.append(index.to(x.device).reshape([-1] + [1] * (spatial - k - 1)))
    return x[(Ellipsis, *picks)]


def _nearest_vec(exact: bool):
    def upsample(x, output_size, scale_factors):
        spatial = x.dim() - 2
        sizes, scales = _sizes_and_scales(x, spatial, output_size, scale_factors)
        return _upsample_nearest(x, sizes, scales, exact)

    return upsample


def _nearest_default(exact: bool):
    def upsample(x, output_size, *scales):
        spatial = len(output_size)
        scales = (list(scales) + [None] * spatial)[:spatial]
        return _upsample_nearest(x, list(output_size), scales, exact)

    return upsample


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_1_2 = math.sqrt(0.5)


def gelu(x: torch.Tensor, approximate: str = "none"):
    """GELU as torch computes it: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), or
    0.5 x (1 + erf(x sqrt(1/2))) (a multiplication, where torch-mlir divides by sqrt(2): a
    vector division costs as much as a quarter of the erf polynomials)."""
    if approximate == "none":
        return 0.5 * x * (1.0 + torch.erf(x * _SQRT_1_2))
    inner = _SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))
    return 0.5 * x * (1.0 + torch.tanh(inner))


def safe_softmax(x: torch.Tensor, dim: int, dtype=None):
    """Softmax whose rows of only -inf give 0, not NaN (attention with a mask that hides a
    whole row). torch's decomposition compares every element with -inf and reduces that to a
    mask per row, a byte tensor as large as the scores; here the corrections act on the row
    maxima and sums only. Multiplying by the sum's reciprocal, as ATen's softmax does."""
    if dtype is not None:
        x = x.to(dtype)
    top = x.amax(dim, keepdim=True)
    top = torch.where(top == float("-inf"), torch.zeros_like(top), top)
    powers = torch.exp(x - top)
    total = powers.sum(dim, keepdim=True)
    total = torch.where(total == 0, torch.ones_like(total), total)
    return powers * (1.0 / total)


def native_layer_norm(x: torch.Tensor, normalized_shape, weight, bias, eps: float):
    """Layer norm with a corrected mean: the mean of the row, then the mean of the row's
    deviations from it added back (the corrected two-pass algorithm). A mean that is the
    rounded sum divided by N is off by an ulp or so, which 1 / sqrt(var + eps) turns into
    a visible error where the row barely varies: a row of equal values gave a 1e-4 relative
    error where torch (whose kernel computes that mean exactly) gives the bias. The
    correction's mean is of values near zero, so its rounding is negligible; its sum is
    computed in the pass that sums the squares. Returns (out, mean, rstd) like ATen's."""
    dims = list(range(x.dim() - len(normalized_shape), x.dim()))
    first = x.mean(dims, keepdim=True)
    deviation = x - first
    correction = deviation.mean(dims, keepdim=True)
    variance = (deviation * deviation).mean(dims, keepdim=True) - correction * correction
    rstd = torch.rsqrt(variance + eps)
    out = (deviation - correction) * rstd
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out, first + correction, rstd


def decompositions() -> dict:
    """torch-mlir's own table plus ours."""
    from torch_mlir.extras.fx_decomp_util import get_decomposition_table

    table = dict(get_decomposition_table())
    table[aten._adaptive_avg_pool2d.default] = adaptive_avg_pool2d
    table[aten.adaptive_avg_pool2d.default] = adaptive_avg_pool2d
    table[aten.adaptive_max_pool2d.default] = adaptive_max_pool2d
    table[aten.cumsum.default] = cumsum
    table[aten.constant_pad_nd.default] = constant_pad_nd
    table[aten.convolution.default] = convolution
    table[aten.gelu.default] = gelu
    table[aten._safe_softmax.default] = safe_softmax
    table[aten.native_layer_norm.default] = native_layer_norm
    table[aten.upsample_linear1d.vec] = upsample_linear_vec
    table[aten.upsample_bilinear2d.vec] = upsample_linear_vec
    table[aten.upsample_trilinear3d.vec] = upsample_linear_vec
    table[aten.upsample_linear1d.default] = upsample_linear1d
    table[aten.upsample_bilinear2d.default] = upsample_bilinear2d
    table[aten.upsample_trilinear3d.default] = upsample_trilinear3d
    for exact, ops in (
        (False, (aten.upsample_nearest1d, aten.upsample_nearest2d, aten.upsample_nearest3d)),
        (
            True,
            (
                aten._upsample_nearest_exact1d,
                aten._upsample_nearest_exact2d,
                aten._upsample_nearest_exact3d,
            ),
        ),
    ):
        for op in ops:
            table[op.vec] = _nearest_vec(exact)
            table[op.default] = _nearest_default(exact)
    return table
