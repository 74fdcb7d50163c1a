"""Zoo models through `compile(..., target="vulkan-adreno")` on lavapipe against torch
(relative error <= 1e-3): 3x3 convs projected onto 8 patterns at connectivity 3.6 run as
pattern kernels; dense and depthwise convs through the same conv kernel (one full pattern);
every other op through the upstream-lowered kernels.

Every zoo model runs in the default suite at its small input; VGG-16 and ResNet-50 take
about a minute each on lavapipe (this CPU driver), the others seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
from gpu_testlib import relative_error
from pattern_mlir.gpu import compile_for_vulkan
from pattern_mlir.runtime.vulkan_buffer import Buffer

ZOO = [
    "fashion-cnn",
    "mobilenet-v2",
    "style-transfer",
    "super-resolution",
    "colorization",
    "vgg16",
    "resnet50",
]


@pytest.mark.parametrize("name", ZOO)
def test_zoo_model_matches_torch(name, zoo):
    compiled = zoo(name)
    got = compiled.exe(compiled.x)
    assert got.shape == compiled.expected.shape
    err = relative_error(got.numpy(), compiled.expected.numpy())
    assert err <= 1e-3, f"{name}: relative error {err}"
    packed = compiled.exe.ir("packed").count("pattern.packed_conv2d ")
    assert packed > 0
    assert [k.kind for k in compiled.exe.program.kernels].count("pattern") == packed


def test_timings_name_every_kernel(zoo):
    compiled = zoo("fashion-cnn")
    compiled.exe(compiled.x)
    program = compiled.exe.program
    timings = program.last_timings
    assert [n for n, _ in timings["kernels"]] == [k.name for k in program.kernels]
    if timings["gpu_ms"] is not None:
        assert all(ms is not None and ms >= 0 for _, ms in timings["kernels"])


def test_second_call_uploads_only_inputs(zoo, monkeypatch):
    compiled = zoo("fashion-cnn")
    first = compiled.exe(compiled.x)
    uploads = []
    original = Buffer.upload
    monkeypatch.setattr(
        Buffer, "upload", lambda self, a: (uploads.append(a.shape), original(self, a))[1]
    )
    second = compiled.exe(compiled.x)
    assert uploads == [tuple(compiled.x.shape)], (
        "weights must be uploaded once per executable, not per call"
    )
    np.testing.assert_array_equal(first.numpy(), second.numpy())


def test_dense_3x3_and_depthwise_convs_use_the_conv_kernel(zoo):
    """Without pattern ops, MobileNet-V2's dense 3x3 stem and its depthwise convs still run
    as conv kernels (one full pattern); its 1x1 convs stay upstream."""
    compiled = zoo("mobilenet-v2", patterns=False)
    kinds = [k.kind for k in compiled.exe.program.kernels]
    assert kinds.count("pattern") == 0
    assert kinds.count("dense") == 1
    assert kinds.count("depthwise") == 17
    err = relative_error(compiled.exe(compiled.x).numpy(), compiled.expected.numpy())
    assert err <= 1e-3, f"relative error {err}"


def test_upstream_conv_lowering_matches_torch(zoo, device):
    """The front end's output through the GPU stages with dense_convs=False: every conv
    (1x1, depthwise, dense 3x3) on the upstream path."""
    compiled = zoo("mobilenet-v2", patterns=False)
    text = compiled.stage_text("inlined")
    with compile_for_vulkan(text, device=device, entry="forward", dense_convs=False) as exe:
        assert all(k.kind == "upstream" for k in exe.kernels)
        assert any("conv" in k.name for k in exe.kernels)
        (got,) = exe(compiled.x.numpy())
    err = relative_error(got, compiled.expected.numpy())
    assert err <= 1e-3, f"relative error {err}"
