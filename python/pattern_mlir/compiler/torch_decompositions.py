"""Decompositions applied before torch-mlir imports a model; imported only in the import child.

torch-mlir lowers adaptive pooling only when the input size is a multiple of the output size
(a fixed window stride). For any other size it emits `cf.assert false, "unimplemented: only
support cases with fixed stride size."`, code that aborts the process running it. Here those
cases become one plain window per output cell, with torch's window bounds
(start = floor(i * size / out), end = ceil((i + 1) * size / out)): slices and a reduction,
which every target compiles. Sizes with a fixed stride keep torch-mlir's own lowering.
"""

from __future__ import annotations

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
    rows = [torch.stack([x[..., h0:h1, w0:w1].mean(dim=(-2, -1)) for w0, w1 in _windows(x.shape[-1], ow)], dim=-1)
            for h0, h1 in _windows(x.shape[-2], oh)]
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


def decompositions() -> dict:
    """torch-mlir's own table plus ours."""
    from torch_mlir.extras.fx_decomp_util import get_decomposition_table

    table = dict(get_decomposition_table())
    table[aten._adaptive_avg_pool2d.default] = adaptive_avg_pool2d
    table[aten.adaptive_avg_pool2d.default] = adaptive_avg_pool2d
    table[aten.adaptive_max_pool2d.default] = adaptive_max_pool2d
    return table
