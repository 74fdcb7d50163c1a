"""Helpers for the codegen tests: random pattern layers and a torch reference."""

from __future__ import annotations

import math

import pytest
from pattern_mlir.codegen.synthetic import random_layer, random_library


def make_layer(rng, out_ch, in_ch, patterns=8, connectivity=2.0, taps=4):
    """Projected random weights, library and assignment; the centre is kept when T allows."""
    keep_centre = 2 <= taps <= 8
    patterns = min(patterns, math.comb(8 if keep_centre else 9, taps - 1 if keep_centre else taps))
    lib = random_library(patterns, rng, taps=taps, keep_centre=keep_centre)
    w, a = random_layer(out_ch, in_ch, lib, connectivity, rng)
    return w, lib, a


def torch_conv(x, w, b, stride, padding, dilation):
    torch = pytest.importorskip("torch")
    with torch.no_grad():
        y = torch.nn.functional.conv2d(
            torch.from_numpy(x),
            torch.from_numpy(w),
            None if b is None else torch.from_numpy(b),
            stride=stride,
            padding=padding,
            dilation=dilation,
        )
    return y.numpy()
