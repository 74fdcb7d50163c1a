"""Block-sparse convs and matmuls (pattern-raise-blocks + their kernels) vs torch.

Weights are pruned here in blocks of R output rows x one input (x the kernel window), the
structure prune.project(..., block_sparsity=s) produces, with random shapes chosen for
remainders: output counts not a multiple of R or of the register block, pixels and tokens
not a multiple of the vector, strides, dilations, padding, an all-removed layer. Every case
checks that the block ops were raised (so the sparse kernels ran) and the result against
torch; some run as x86-64-v3 (AVX2) code on any x86 host, and as aarch64 code under qemu.
"""

from __future__ import annotations

import random

import numpy as np
import pattern_mlir
import pytest
import torch
from pattern_mlir.dialects.block_stream import csr_bytes, encode_blocks, pick_block_rows
from pattern_mlir.testing import relative_error

TOLERANCE = 1e-5


def prune_blocks(weight: torch.Tensor, rows: int, keep: float, generator: torch.Generator) -> None:
    """Zeroes blocks of `rows` outputs x one input (x window), keeping a fraction `keep`."""
    outputs, inputs = weight.shape[:2]
    blocks = -(-outputs // rows)
    kept = torch.rand(blocks, inputs, generator=generator) < keep
    mask = kept.repeat_interleave(rows, 0)[:outputs]
    with torch.no_grad():
        weight.mul_(mask.reshape(outputs, inputs, *[1] * (weight.dim() - 2)))


def _compile(model, x, target):
    return pattern_mlir.compile(
        model, (x,), target=target, options=pattern_mlir.CompileOptions(num_threads=1)
    )


def _count(exe, op: str) -> int:
    return exe.ir("blocks").count(f"pattern.{op} ")


def _random_conv(seed: int):
    rng = random.Random(seed)
    kernel = rng.choice([1, 1, 3, 5])
    stride = rng.choice([1, 1, 2])
    dilation = rng.choice([1, 2]) if kernel == 3 and stride == 1 else 1
    conv = torch.nn.Conv2d(
        rng.randint(2, 40),
        rng.randint(3, 45),
        kernel,
        stride=stride,
        padding=rng.choice([0, kernel // 2]),
        dilation=dilation,
        bias=rng.random() < 0.7,
    )
    act = rng.choice([torch.nn.ReLU(), torch.nn.Identity(), torch.nn.Hardtanh(0.0, 6.0)])
    hw = rng.randint(kernel * dilation, 19)
    return torch.nn.Sequential(conv, act), torch.randn(
        1, conv.in_channels, hw, hw + rng.randint(0, 5)
    )


@pytest.mark.parametrize(
    ("seed", "target"), [(seed, ("host", "x86-64-v3")[seed % 2]) for seed in range(8)]
)
def test_random_block_convs_match_torch(seed, target):
    torch.manual_seed(seed)
    model, x = _random_conv(seed)
    prune_blocks(
        model[0].weight,
        rows=(8, 4)[seed % 2],
        keep=0.3,
        generator=torch.Generator().manual_seed(seed),
    )
    exe = _compile(model.eval(), x, target)
    assert _count(exe, "block_conv2d") == 1
    assert relative_error(torch.as_tensor(np.asarray(exe(x))), model(x)) <= TOLERANCE


class TwoLinears(torch.nn.Module):
    def __init__(self, inputs: int, hidden: int, outputs: int):
        super().__init__()
        self.fc1, self.fc2 = (
            torch.nn.Linear(inputs, hidden),
            torch.nn.Linear(hidden, outputs, bias=False),
        )

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x))) + 0.5


@pytest.mark.parametrize(
    ("rows", "tokens", "inputs", "hidden", "outputs", "target"),
    [
        (8, 1, 30, 64, 10, "host"),
        (8, 7, 45, 37, 19, "x86-64-v3"),
        (4, 3, 96, 200, 24, "host"),
        (8, 13, 17, 9, 33, "x86-64-v3"),
        (8, 37, 70, 45, 21, "host"),
        (4, 40, 19, 64, 27, "x86-64-v3"),
    ],
)
def test_block_linears_match_torch(rows, tokens, inputs, hidden, outputs, target):
    torch.manual_seed(tokens)
    model = TwoLinears(inputs, hidden, outputs).eval()
    generator = torch.Generator().manual_seed(hidden)
    for layer in (model.fc1, model.fc2):
        prune_blocks(layer.weight, rows=rows, keep=0.35, generator=generator)
    x = torch.randn(tokens, inputs)
    exe = _compile(model, x, target)
    assert _count(exe, "block_matmul") == 2
    assert relative_error(torch.as_tensor(np.asarray(exe(x))), model(x)) <= TOLERANCE


def test_layer_with_every_block_removed_computes_its_bias():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(8, 16, 1), torch.nn.Flatten(), torch.nn.Linear(16 * 36, 12)
    ).eval()
    with torch.no_grad():
        model[0].weight.zero_()
        model[2].weight.zero_()
    x = torch.randn(1, 8, 6, 6)
    exe = _compile(model, x, "host")
    assert _count(exe, "block_conv2d") == 1 and _count(exe, "block_matmul") == 1
    assert relative_error(torch.as_tensor(np.asarray(exe(x))), model(x)) <= TOLERANCE


def test_dense_weights_stay_dense():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(8, 16, 1), torch.nn.Flatten(), torch.nn.Linear(16 * 16, 12)
    ).eval()
    prune_blocks(model[0].weight, rows=8, keep=0.9, generator=torch.Generator().manual_seed(0))
    x = torch.randn(1, 8, 4, 4)
    exe = _compile(model, x, "host")
    assert _count(exe, "block_conv2d") == 0 and _count(exe, "block_matmul") == 0


def test_batched_block_conv_stays_dense_and_matches_torch():
    """The block kernels compute one image: a batch of two leaves the conv dense, not refused."""
    torch.manual_seed(5)
    model = torch.nn.Sequential(torch.nn.Conv2d(16, 24, 1), torch.nn.ReLU()).eval()
    prune_blocks(model[0].weight, rows=8, keep=0.25, generator=torch.Generator().manual_seed(5))
    x = torch.randn(2, 16, 6, 6)
    exe = _compile(model, x, "host")
    assert _count(exe, "block_conv2d") == 0
    assert relative_error(torch.as_tensor(np.asarray(exe(x))), model(x)) <= TOLERANCE


class RowLSTM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(12, 24, batch_first=True)
        self.head = torch.nn.Linear(24, 5)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[:, -1])


def _whole_models():
    lstm = RowLSTM()
    encoder = torch.nn.Sequential(
        torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True),
        torch.nn.Flatten(),
        torch.nn.Linear(6 * 32, 7),
    )
    bottleneck = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 48, 1),
        torch.nn.ReLU6(),
        torch.nn.Conv2d(48, 48, 3, padding=1, groups=48),
        torch.nn.Conv2d(48, 24, 1),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(24, 10),
    )
    return [
        ("lstm", lstm, torch.randn(1, 9, 12), 3),
        ("encoder", encoder, torch.randn(1, 6, 32), 5),
        ("bottleneck", bottleneck, torch.randn(1, 3, 12, 12), 3),
    ]


@pytest.mark.parametrize(
    ("index", "target"),
    [(0, "host"), (1, "host"), (2, "host"), (2, "arm64-neon")],
    ids=["lstm", "encoder", "bottleneck", "bottleneck-arm64"],
)
def test_whole_models_with_block_pruned_layers_match_torch(index, target):
    torch.manual_seed(index)
    _, model, x, raised = _whole_models()[index]
    generator = torch.Generator().manual_seed(index)
    for _name, parameter in model.named_parameters():
        eligible = parameter.dim() == 2 or (
            parameter.dim() == 4 and parameter.shape[1] > 3 and parameter.shape[2:] != (3, 3)
        )
        if eligible:
            prune_blocks(parameter, rows=8, keep=0.25, generator=generator)
    model.eval()
    exe = _compile(model, x, target)
    assert _count(exe, "block_matmul") + _count(exe, "block_conv2d") >= raised
    assert relative_error(torch.as_tensor(np.asarray(exe(x))), model(x)) <= 1e-4


@pytest.mark.parametrize("target", ["arm64-neon"])
def test_block_conv_and_linear_on_arm64(target):
    torch.manual_seed(3)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(20, 30, 1, bias=False),
        torch.nn.ReLU(),
        torch.nn.Conv2d(30, 12, 5, 2, 2),
        torch.nn.Flatten(),
        torch.nn.Linear(12 * 5 * 5, 21),
    ).eval()
    generator = torch.Generator().manual_seed(3)
    for index in (0, 2, 4):
        prune_blocks(model[index].weight, rows=8 if index else 4, keep=0.3, generator=generator)
    x = torch.randn(1, 20, 9, 9)
    exe = _compile(model, x, target)
    assert _count(exe, "block_conv2d") == 2 and _count(exe, "block_matmul") == 1
    assert relative_error(torch.as_tensor(np.asarray(exe(x))), model(x)) <= TOLERANCE


def test_stream_round_trips_and_is_smaller_than_csr():
    rng = np.random.default_rng(0)
    for outputs, inputs, taps, rows in [(64, 48, 1, 8), (30, 17, 9, 4), (100, 256, 1, 8)]:
        weight = rng.standard_normal((outputs, inputs, taps)).astype(np.float32)
        kept = rng.random((-(-outputs // rows), inputs)) < 0.25
        weight *= np.repeat(kept, rows, axis=0)[:outputs, :, None]
        stream = encode_blocks(weight, rows)
        assert np.array_equal(stream.dense(), weight)
        assert stream.kept == int(kept.sum())
        assert stream.nbytes < 0.6 * csr_bytes(weight)


class GRUClassifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.GRU(28, 96, batch_first=True)
        self.head = torch.nn.Linear(96, 10)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[:, -1])


class SelfAttention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = torch.nn.MultiheadAttention(96, 4, batch_first=True)

    def forward(self, x):
        return self.attention(x, x, x, need_weights=False)[0]


@pytest.mark.parametrize(
    ("model_class", "shape", "target"),
    [(GRUClassifier, (1, 12, 28), "host"), (SelfAttention, (1, 40, 96), "arm64-neon")],
    ids=["gru-host", "attention-arm64"],
)
def test_front_end_block_pruning_compiles_to_block_ops(model_class, shape, target):
    """prune.project(..., block_sparsity=0.75) output raises to block ops and matches torch."""
    from pattern_mlir import prune

    torch.manual_seed(0)
    model, x = model_class().eval(), torch.randn(*shape)
    spec = prune.project(model, block_sparsity=0.75)
    assert spec.blocks
    exe = _compile(model, x, target)
    assert _count(exe, "block_matmul") >= len(spec.blocks)
    assert relative_error(torch.as_tensor(np.asarray(exe(x))), model(x)) <= 1e-4


@pytest.mark.parametrize("rows", [4, 8])
def test_block_height_is_read_from_the_weights(rows):
    """Weights pruned in 4-row blocks raise with 4 (8 would keep ~44 % instead of 25 %)."""
    rng = np.random.default_rng(rows)
    weight = rng.standard_normal((64, 96, 1)).astype(np.float32)
    weight *= np.repeat(rng.random((64 // rows, 96)) < 0.25, rows, axis=0)[:, :, None]
    assert pick_block_rows(weight, 0.7) == rows
    assert pick_block_rows(np.ones((16, 8, 1), np.float32), 0.7) is None


def test_threads_share_a_skewed_batch1_block_linear_by_work():
    """Output blocks keeping very different numbers of inputs are split over threads by kept
    entries, not by count; the result is the same."""
    from pattern_mlir.passes.dense.block_sparse import _balanced_bounds

    offsets = np.concatenate([[0], np.cumsum([40] * 4 + [1] * 20)]).astype(np.int32)
    assert _balanced_bounds(offsets, 24, 2) == (0, 2, 24)
    assert _balanced_bounds(offsets, 24, 1) == ()
    torch.manual_seed(9)
    layer = torch.nn.Linear(64, 200).eval()
    with torch.no_grad():
        layer.weight[32:].mul_(torch.rand(168, 64) < 0.02)  # blocks 4.. nearly empty, 0..3 dense
        layer.weight[:32, :16] = 0.0
    x = torch.randn(1, 64)
    for threads in (2, 3):
        exe = pattern_mlir.compile(
            layer, (x,), options=pattern_mlir.CompileOptions(num_threads=threads)
        )
        assert _count(exe, "block_matmul") == 1
        assert relative_error(torch.as_tensor(np.asarray(exe(x))), layer(x)) <= TOLERANCE
