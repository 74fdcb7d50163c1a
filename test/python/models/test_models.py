"""The model zoo: every model builds, runs at a small size, exports, counts MACs right, and
imports through torch-mlir to linalg-on-tensors.

torch_mlir is only ever imported in a child process (torch_mlir_import.py): it loads a second
LLVM/MLIR that breaks the project's MLIR JIT if it shares the test process.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from pattern_mlir.models import MODELS, build, count_macs, randomize_batchnorm
from torch import nn

# Output shape of each model at its small input.
SMALL_OUTPUT = {
    "vgg16": (1, 1000),
    "resnet50": (1, 1000),
    "mobilenet-v2": (1, 1000),
    "style-transfer": (1, 3, 32, 32),
    "colorization": (1, 2, 64, 64),
    "super-resolution": (1, 3, 64, 64),
    "fashion-cnn": (1, 10),
    "fashion-bottleneck": (1, 10),
    "patch-transformer": (1, 10),
    "row-lstm": (1, 10),
}

# Everything torch.export may leave in a zoo model's graph: ops that torch-mlir's FX importer
# lowers to linalg-on-tensors.
ALLOWED_OPS = {
    "aten.adaptive_avg_pool2d.default", "aten.add.Tensor", "aten.batch_norm.default",
    "aten.cat.default", "aten.conv2d.default", "aten.dropout.default", "aten.expand.default",
    "aten.flatten.using_ints", "aten.hardtanh_.default", "aten.linear.default",
    "aten.max_pool2d.default", "aten.mul.Tensor", "aten.pixel_shuffle.default",
    "aten.relu_.default", "aten.sigmoid.default", "aten.sub.Tensor", "aten.tanh.default",
    "aten.unsqueeze.default", "aten.upsample_nearest2d.vec",
    # the patch transformer (torch's nn.TransformerEncoderLayer) and the row LSTM
    "<built-in function getitem>", "aten.contiguous.default", "aten.gelu.default",
    "aten.layer_norm.default", "aten.lstm.input", "aten.mean.dim", "aten.permute.default",
    "aten.reshape.default", "aten.scaled_dot_product_attention.default", "aten.select.int",
    "aten.squeeze.dim", "aten.transpose.int", "aten.unflatten.int", "aten.view.default",
    "aten.zeros.default",
}  # fmt: skip


@functools.cache
def small(name: str) -> tuple[nn.Module, torch.Tensor]:
    """Zoo model `name` at its small size, built once per test session (tests do not mutate it)."""
    return build(name, small=True)


@pytest.fixture(autouse=True)
def _two_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


def test_registry_covers_the_zoo():
    assert set(MODELS) == set(SMALL_OUTPUT)
    for name, info in MODELS.items():
        assert info.name == name and info.description
        assert len(info.input_shape) == 4 and len(info.small_shape) == 4


@pytest.mark.parametrize("name", list(SMALL_OUTPUT))
def test_small_model_runs_and_exports(name):
    model, x = small(name)
    assert not model.training and tuple(x.shape) == MODELS[name].small_shape
    with torch.no_grad():
        y = model(x)
    assert tuple(y.shape) == SMALL_OUTPUT[name]
    assert torch.isfinite(y).all()
    ops = {
        str(node.target)
        for node in torch.export.export(model, (x,)).graph.nodes
        if node.op == "call_function"
    }
    assert ops <= ALLOWED_OPS, f"{name} uses ops outside the allowed set: {ops - ALLOWED_OPS}"


# The zoo's networks that are not CNNs: no 3x3 conv for pattern pruning.
NOT_CNN = {"patch-transformer", "row-lstm"}


@pytest.mark.parametrize("name", list(SMALL_OUTPUT))
def test_every_3x3_layer_is_a_conv2d(name):
    """The pattern pruner finds its targets as nn.Conv2d with a 3x3 kernel; nothing else may
    hide a 3x3 window (no transposed convs, no functional convs)."""
    model, _ = small(name)
    for m in model.modules():
        assert not isinstance(m, nn.ConvTranspose2d | nn.Conv1d | nn.Conv3d), type(m)
    has_3x3 = any(isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3) for m in model.modules())
    assert has_3x3 != (name in NOT_CNN), f"{name}: 3x3 convs {has_3x3}"


def test_build_is_deterministic_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a, xa = build("super-resolution", small=True, seed=3)
    b, xb = build("super-resolution", small=True, seed=3)
    c, _ = build("super-resolution", small=True, seed=4)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(xa, xb)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["head.weight"], sc["head.weight"])


def test_build_options():
    model, x = build("vgg16", input_shape=(2, 3, 64, 64), num_classes=10, hidden=64)
    assert tuple(x.shape) == (2, 3, 64, 64) and model.avgpool.output_size == 1
    with torch.no_grad():
        assert model(x).shape == (2, 10)
    assert build("vgg16", hidden=8)[0].classifier[0].in_features == 512 * 7 * 7
    model, x = build("super-resolution", small=True, scale=4)
    with torch.no_grad():
        assert model(x).shape == (1, 3, 128, 128)
    with pytest.raises(KeyError, match="unknown model"):
        build("alexnet")
    with pytest.raises(ValueError, match="square"):
        build("colorization", input_shape=(1, 1, 64, 96))


@pytest.mark.parametrize(
    "name, kwargs, layer, shape",
    [
        ("resnet50", {"cifar_stem": True}, "layer4.2.conv3", (1, 2048, 4, 4)),
        ("mobilenet-v2", {"cifar_stride": True}, "features.18.0", (1, 1280, 4, 4)),
    ],
)
def test_cifar_variants_keep_spatial_size(name, kwargs, layer, shape):
    model, x = build(name, small=True, num_classes=10, **kwargs)
    r = count_macs(model, x)
    assert r["layers"][layer]["out_shape"] == shape
    assert r["layers"][list(r["layers"])[-1]]["out_shape"] == (1, 10)


def test_randomize_batchnorm_changes_every_bn():
    model, x = build("fashion-cnn")
    with torch.no_grad():
        before = model(x)
        randomize_batchnorm(model, seed=1)
        after = model(x)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all((m.running_var != 1).all() and (m.weight != 1).all() for m in bns)
    assert not torch.allclose(before, after)


def test_count_macs_fashion_cnn_by_hand():
    model, x = build("fashion-cnn")
    r = count_macs(model, x)
    convs = [(28, 1, 32), (14, 32, 32), (14, 32, 64), (7, 64, 64), (7, 64, 128), (7, 128, 128)]
    expected = sum(side * side * cout * cin * 9 for side, cin, cout in convs)
    assert r["conv3x3"] == expected
    assert r["conv_other"] == 0 and r["linear"] == 128 * 10
    assert r["total"] == expected + 1280
    assert list(r["layers"]) == [f"features.conv{i}.conv" for i in range(1, 7)] + ["classifier"]
    assert r["layers"]["features.conv2.conv"]["out_shape"] == (1, 32, 14, 14)
    assert not any(m._forward_hooks for m in model.modules())


def test_count_macs_sorts_depthwise_and_pointwise_apart():
    model, x = small("mobilenet-v2")
    r = count_macs(model, x)
    kinds = {e["kind"] for e in r["layers"].values()}
    assert kinds == {"conv3x3", "conv_other", "linear"}
    (stem,) = [n for n, e in r["layers"].items() if e["kind"] == "conv3x3"]
    assert stem == "features.0.0"
    assert r["conv3x3"] == 16 * 16 * 32 * 3 * 9  # 32x32 input, stride 2
    depthwise = r["layers"]["features.1.conv.0.0"]
    assert depthwise["groups"] == 32 and depthwise["macs"] == 16 * 16 * 32 * 9


def test_torch_mlir_imports_every_model_in_subprocess():
    """fx.export_and_import(..., output_type="linalg-on-tensors") for every zoo model."""
    script = Path(__file__).with_name("torch_mlir_import.py")
    proc = subprocess.run(
        [sys.executable, str(script), *SMALL_OUTPUT],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    done = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("ok ")]
    assert done == list(SMALL_OUTPUT)
