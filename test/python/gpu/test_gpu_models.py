"""Whole small models on lavapipe against torch (rel err <= 1e-3).

Each model's 3x3 convs are projected onto an 8-pattern library at connectivity
2x in torch (so torch computes the reference of the pruned model), exported with
torch-mlir, and the conforming convs replaced by pattern.packed_conv2d. Dense and
depthwise convs run through the same conv kernel (one full pattern), the other
ops (BatchNorm, ReLU/ReLU6, pooling, residual adds, linear) through the
upstream-lowered kernels; with dense_convs=False every conv takes the upstream
path too.
"""

from __future__ import annotations

import numpy as np
import pytest
from gpu_testlib import LIBRARY, relative_error
from pattern_mlir.gpu import compile_for_vulkan
from pattern_mlir.gpu.pattern_import import pack_pattern_convs
from pattern_mlir.gpu.sample_models import SAMPLES
from pattern_mlir.runtime.vulkan_buffer import Buffer

#: 3x3 full convs each sample holds (the packed ones); depthwise convs stay dense.
PATTERN_CONVS = {"vgg_blocks": 4, "residual_block": 2, "inverted_residual": 1}


@pytest.fixture(scope="module", params=sorted(SAMPLES))
def compiled(request, device, sample_exports):
    _, x, want, dense_text = sample_exports[request.param]
    text, packed = pack_pattern_convs(dense_text, LIBRARY)
    exe = compile_for_vulkan(text, device=device)
    yield request.param, exe, x.numpy(), want, packed
    exe.close()


def test_matches_torch(compiled):
    name, exe, x, want, packed = compiled
    assert packed == PATTERN_CONVS[name]
    (got,) = exe(x)
    assert got.shape == want.shape
    err = relative_error(got, want)
    assert err <= 1e-3, f"{name}: relative error {err}"


def test_pattern_kernels_and_timings(compiled):
    _name, exe, x, _, packed = compiled
    assert sum(k.kind == "pattern" for k in exe.kernels) == packed
    exe(x)
    timings = exe.last_timings
    assert [n for n, _ in timings["kernels"]] == [k.name for k in exe.kernels]
    if timings["gpu_ms"] is not None:
        assert all(ms is not None and ms >= 0 for _, ms in timings["kernels"])


def test_second_call_uploads_only_inputs(compiled, monkeypatch):
    _name, exe, x, _want, _ = compiled
    first = exe(x)[0]
    uploads = []
    original = Buffer.upload
    monkeypatch.setattr(
        Buffer, "upload", lambda self, a: (uploads.append(a.shape), original(self, a))[1]
    )
    second = exe(x)[0]
    assert uploads == [x.shape], "weights must be uploaded once per executable, not per call"
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("name", ["residual_block", "inverted_residual"])
def test_upstream_conv_lowering_matches_torch(name, device, sample_exports):
    """With dense_convs=False the 1x1, depthwise and dense convs take the upstream path."""
    _, x, want, text = sample_exports[name]
    with compile_for_vulkan(text, device=device, dense_convs=False) as exe:
        assert all(k.kind == "upstream" for k in exe.kernels)
        assert any("conv" in k.name for k in exe.kernels)
        err = relative_error(exe(x.numpy())[0], want)
    assert err <= 1e-3, f"{name}: relative error {err}"


def test_dense_3x3_and_depthwise_convs_use_the_conv_kernel(device, sample_exports):
    _, x, want, text = sample_exports["inverted_residual"]
    with compile_for_vulkan(text, device=device) as exe:
        kinds = [k.kind for k in exe.kernels]
        assert kinds.count("dense") == 1  # the stem's 3x3 (1x1 convs stay upstream)
        assert kinds.count("depthwise") == 1
        upstream_convs = [k.name for k in exe.kernels if k.kind == "upstream" and "conv" in k.name]
        assert len(upstream_convs) == 2, upstream_convs  # expand and project 1x1
        err = relative_error(exe(x.numpy())[0], want)
    assert err <= 1e-3, f"relative error {err}"
