"""Vulkan runtime: MLIR-compiled kernels run and match numpy; sequences, timestamps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pattern_mlir.runtime.vulkan import SubmitResult
from vulkan_test_kernels import ADD_N, CONV_SHAPE


def _rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(got.astype(np.float64) - ref)) / np.max(np.abs(ref)))


def _conv_ref(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    windows = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), (3, 3), axis=(1, 2))
    return np.einsum("chwij,kcij->khw", windows, w.astype(np.float64))


@pytest.fixture(scope="module")
def add(device, kernels_spirv):
    return device.kernel(kernels_spirv, "add")


@pytest.fixture(scope="module")
def conv(device, kernels_spirv):
    return device.kernel(kernels_spirv, "conv2d")


def test_device_reports_limits_and_timestamp_period(device):
    info = device.info
    assert info.subgroup_size >= 1  # reported, never relied on
    assert info.timestamp_period_ns > 0
    assert info.max_workgroup_invocations >= 128  # Vulkan minimum
    assert min(info.max_workgroup_count) >= 65535
    assert info.max_push_constants_bytes >= 128
    assert info.api_version >= (1, 1, 0)


def test_kernel_reflects_bindings_and_workgroup(add, conv):
    assert add.workgroup_size == (64, 1, 1)
    assert [b.binding for b in add.bindings] == [0, 1, 2]
    assert conv.workgroup_size == (8, 8, 1)
    assert conv.push_constant_size == 0


def test_elementwise_add_matches_numpy(device, add):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(ADD_N, dtype=np.float32)
    y = rng.standard_normal(ADD_N, dtype=np.float32)
    a, b, c = device.upload(x), device.upload(y), device.buffer(ADD_N, np.float32)
    ms = device.run(add, [a, b, c], math.ceil(ADD_N / 64), timestamps=True)
    assert _rel_err(c.download(), x.astype(np.float64) + y) <= 1e-5
    assert ms > 0
    for buf in (a, b, c):
        buf.close()


def test_conv2d_matches_numpy(device, conv):
    rng = np.random.default_rng(1)
    c, h, w, k = (CONV_SHAPE[n] for n in "chwk")
    x = rng.standard_normal((c, h, w), dtype=np.float32)
    wt = rng.standard_normal((k, c, 3, 3), dtype=np.float32)
    out = device.buffer((k, h - 2, w - 2), np.float32)
    groups = (math.ceil((w - 2) / 8), math.ceil((h - 2) / 8), k)
    device.run(conv, [device.upload(x), device.upload(wt), out], groups)
    assert _rel_err(out.download(), _conv_ref(x, wt)) <= 1e-4


def test_buffers_by_binding_mapping(device, add):
    x = np.arange(ADD_N, dtype=np.float32)
    a, c = device.upload(x), device.buffer(ADD_N)
    device.run(add, {0: a, (0, 1): a, 2: c}, math.ceil(ADD_N / 64))
    np.testing.assert_array_equal(c.download(), 2 * x)


def test_dependent_dispatches_in_one_submission(device, add):
    """acc += y eight times in place, then a ping-pong chain: barriers keep order."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal(ADD_N, dtype=np.float32)
    y = rng.standard_normal(ADD_N, dtype=np.float32)
    acc, yb = device.upload(x), device.upload(y)
    ping, pong = device.buffer(ADD_N), device.buffer(ADD_N)
    groups = math.ceil(ADD_N / 64)
    with device.sequence(timestamps=True) as seq:
        for _ in range(8):
            seq.dispatch(add, [acc, yb, acc], groups)
        seq.dispatch(add, [acc, yb, ping], groups)
        seq.dispatch(add, [ping, yb, pong], groups)
        seq.dispatch(add, [pong, yb, ping], groups)
        result = seq.submit()
    expect = x.copy()
    for _ in range(11):
        expect = expect + y  # float32, same order as the GPU
    np.testing.assert_array_equal(ping.download(), expect)
    assert isinstance(result, SubmitResult)
    assert len(result.dispatch_ms) == 11
    assert all(ms > 0 for ms in result.dispatch_ms)
    assert result.gpu_ms >= max(result.dispatch_ms)
    assert result.wall_ms > 0


def test_independent_dispatches_and_resubmission(device, add, conv):
    x = np.ones(ADD_N, np.float32)
    a, b1, b2 = device.upload(x), device.buffer(ADD_N), device.buffer(ADD_N)
    c, h, w, k = (CONV_SHAPE[n] for n in "chwk")
    cin = device.upload(np.ones((c, h, w), np.float32))
    cw = device.upload(np.full((k, c, 3, 3), 0.5, np.float32))
    cout = device.buffer((k, h - 2, w - 2))
    seq = device.sequence()
    seq.dispatch(add, [a, a, b1], math.ceil(ADD_N / 64))
    seq.dispatch(conv, [cin, cw, cout], (4, 4, k))
    seq.dispatch(add, [b1, a, b2], math.ceil(ADD_N / 64))
    first = seq.submit()
    assert first.dispatch_ms is None and first.gpu_ms is None
    np.testing.assert_array_equal(b2.download(), 3 * x)
    np.testing.assert_array_equal(cout.download(), np.full((k, h - 2, w - 2), 72.0))
    a.upload(2 * x)  # same recording, new inputs
    seq.submit()
    np.testing.assert_array_equal(b2.download(), 6 * x)
    seq.close()


def test_push_constants(device, push_spirv):
    kernel = device.kernel(push_spirv)
    assert kernel.name == "affine" and kernel.push_constant_size == 12
    n = 1000
    x = np.linspace(-1, 1, 1024, dtype=np.float32)
    src, dst = device.upload(x), device.buffer(1024)
    params = np.zeros(3, np.float32)
    params[:2] = (3.0, 0.5)
    params[2:].view(np.int32)[0] = n
    device.run(kernel, [src, dst], math.ceil(n / 64), push_constants=params)
    got = dst.download()
    np.testing.assert_allclose(got[:n], x[:n] * 3.0 + 0.5, rtol=1e-6)
    assert not got[n:].any()  # guarded by the count in the push constants
    kernel.close()
