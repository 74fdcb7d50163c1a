"""Host runtime: input validation, FKW checks, buffers, padding layout, repeated calls."""

from __future__ import annotations

import numpy as np
import pytest
from codegen_util import make_layer
from pattern_mlir.backend.host_jit import PatternConvKernel
from pattern_mlir.codegen import (
    ConvGeometry,
    PackedFKW,
    pack,
    pad_input_into,
)
from pattern_mlir.runtime.buffers import aligned_empty, aligned_zeros, is_aligned


@pytest.fixture(scope="module")
def kernel():
    rng = np.random.default_rng(0)
    w, lib, a = make_layer(rng, 4, 3)
    return PatternConvKernel(w, lib, a, padding=1, num_threads=1, input_size=(7, 9))


def test_bad_inputs_raise(kernel):
    good = np.zeros((1, 3, 7, 9), np.float32)
    kernel(good)
    with pytest.raises(TypeError, match=r"\(1, 3, H, W\)"):
        kernel(good.astype(np.float64))
    with pytest.raises(TypeError, match="numpy"):
        kernel(good.tolist())
    for bad in (
        np.zeros((3, 7, 9), np.float32),
        np.zeros((2, 3, 7, 9), np.float32),
        np.zeros((1, 4, 7, 9), np.float32),
    ):
        with pytest.raises(ValueError, match=r"\(1, 3, H, W\)"):
            kernel(bad)
    with pytest.raises(ValueError, match="C-contiguous"):
        kernel(np.zeros((1, 3, 9, 7), np.float32).transpose(0, 1, 3, 2))
    with pytest.raises(ValueError, match="sizes must be >= 1"):
        kernel(np.zeros((1, 3, 0, 9), np.float32))
    unpadded = PatternConvKernel.from_packed(kernel.packed, num_threads=1)
    with pytest.raises(ValueError, match="empty output"):
        unpadded(np.zeros((1, 3, 2, 9), np.float32))


def test_bad_construction_raises():
    rng = np.random.default_rng(1)
    w, lib, a = make_layer(rng, 4, 3)
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        PatternConvKernel(w, lib, a, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="unknown target"):
        PatternConvKernel(w, lib, a, target="riscv")
    with pytest.raises(ValueError, match="unknown activation"):
        PatternConvKernel(w, lib, a, activation="gelu")
    with pytest.raises(ValueError, match="clamp"):
        PatternConvKernel(w, lib, a, activation="clamp")


def test_corrupt_fkw_rejected():
    rng = np.random.default_rng(2)
    w, lib, a = make_layer(rng, 4, 3, connectivity=1.0)
    p = pack(w, lib, a)

    def variant(**kw):
        fields = {
            "filter_order": p.filter_order,
            "offsets": p.offsets,
            "channels": p.channels,
            "weights": p.weights,
            "library": p.library,
            "in_channels": p.in_channels,
        }
        fields.update(kw)
        return PackedFKW(**fields)

    bad_channels = p.channels.copy()
    bad_channels[0] = 3
    bad_offsets = p.offsets.copy()
    bad_offsets[-1] += 1
    for bad, exc in [
        (variant(channels=bad_channels), ValueError),
        (variant(offsets=bad_offsets), ValueError),
        (variant(filter_order=np.zeros(4, np.int32)), ValueError),
        (variant(weights=p.weights.astype(np.float64)), TypeError),
        (variant(weights=p.weights[:, :3].copy()), ValueError),
    ]:
        with pytest.raises(exc):
            PatternConvKernel.from_packed(bad)
    PatternConvKernel.from_packed(p)


def test_aligned_buffers():
    for shape in [(3,), (5, 7), (2, 3, 17)]:
        a = aligned_empty(shape)
        assert a.shape == shape and a.dtype == np.float32 and a.flags.c_contiguous and is_aligned(a)
    z = aligned_zeros((4, 5), np.int32, alignment=128)
    assert is_aligned(z, 128) and not z.any()
    with pytest.raises(ValueError):
        aligned_empty((2,), alignment=48)


@pytest.mark.parametrize("stride,pad,dil", [(1, 1, 1), (2, 0, 1), (3, 2, 2), (2, 1, 2)])
def test_pad_layout(stride, pad, dil):
    rng = np.random.default_rng(3)
    g = ConvGeometry.make(2, 1, 6, 11, stride, pad, dil)
    cols = -(-g.out_width // 16) * 16
    buf = aligned_zeros(g.input_buffer_shape(cols))
    x = rng.standard_normal((2, 6, 11)).astype(np.float32)
    pad_input_into(x, g, buf)
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    planes = buf.reshape(2, stride, *buf.shape[1:])
    assert buf.shape[2] % 16 == 0
    for q in range(stride):
        cols_q = padded[:, :, q::stride]
        n = min(cols_q.shape[2], buf.shape[2])
        np.testing.assert_array_equal(planes[:, q, :, :n], cols_q[:, :, :n])
        assert not planes[:, q, :, n:].any()


def test_sizes_and_repeated_calls(kernel):
    rng = np.random.default_rng(4)
    x1 = rng.standard_normal((1, 3, 7, 9)).astype(np.float32)
    x2 = rng.standard_normal((1, 3, 12, 30)).astype(np.float32)
    y1 = kernel(x1)
    y2 = kernel(x2)
    assert y1.shape == (1, 4, 7, 9) and y2.shape == (1, 4, 12, 30)
    np.testing.assert_array_equal(kernel(x1), y1)
    assert "func.func @pattern_conv" in kernel.mlir
