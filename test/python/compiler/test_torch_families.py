"""What torch-mlir's FX importer emits for common torch.nn models compiles and matches torch,
on the host and on arm64 (under qemu).

One model per group of op families, returning one output per family (tuple outputs are
themselves a family), so a mismatch names the family and a compile failure names the op
(CompileError carries the torch op and submodule in its location). Shapes are odd on
purpose: channels 3-5, spatial sizes 7-11, sequences of 7.
"""

from __future__ import annotations

import pattern_mlir
import pytest
import torch
import torch.nn.functional as F
from torch import nn

TOLERANCE = 1e-4


def _image(channels=4, h=9, w=11):
    return torch.randn(1, channels, h, w)


def _tokens(t=7, d=16):
    return torch.randn(1, t, d)


class Activations(nn.Module):
    families = [
        "relu",
        "relu6",
        "leaky_relu",
        "prelu",
        "elu",
        "gelu_erf",
        "gelu_tanh",
        "silu",
        "mish",
        "hardsigmoid",
        "hardswish",
        "softplus",
        "sigmoid",
        "tanh",
    ]

    def __init__(self):
        super().__init__()
        self.prelu = nn.PReLU(4)

    def forward(self, x):
        return (
            F.relu(x),
            F.relu6(x),
            F.leaky_relu(x, 0.1),
            self.prelu(x),
            F.elu(x),
            F.gelu(x),
            F.gelu(x, approximate="tanh"),
            F.silu(x),
            F.mish(x),
            F.hardsigmoid(x),
            F.hardswish(x),
            F.softplus(x),
            torch.sigmoid(x),
            torch.tanh(x),
        )


class Softmaxes(nn.Module):
    families = [f"{kind}_dim{d}" for d in range(4) for kind in ("softmax", "log_softmax")] + [
        "softmax_tokens"
    ]

    def forward(self, x, t):
        return (
            *[f(x, d) for d in range(4) for f in (torch.softmax, torch.log_softmax)],
            torch.softmax(t, -1),
        )


class Norms(nn.Module):
    families = ["layer_norm", "group_norm", "instance_norm", "batch_norm_unfused"]

    def __init__(self):
        super().__init__()
        self.layer = nn.LayerNorm(16)
        self.group = nn.GroupNorm(2, 4)
        self.instance = nn.InstanceNorm2d(4, affine=True)
        self.batch = nn.BatchNorm2d(4)
        with torch.no_grad():
            self.batch.running_mean.uniform_(-0.5, 0.5)
            self.batch.running_var.uniform_(0.5, 2.0)

    def forward(self, x, t):
        return self.layer(t), self.group(x), self.instance(x), self.batch(torch.tanh(x))


class Attention(nn.Module):
    families = ["matmul", "bmm", "scaled_dot_product_attention", "multihead_attention"]

    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(16, 2, batch_first=True)

    def forward(self, t, q):
        heads = q.reshape(1, 7, 2, 8).transpose(1, 2)
        return (
            t @ t.transpose(1, 2),
            torch.bmm(q.transpose(1, 2), t),
            F.scaled_dot_product_attention(heads, heads, heads),
            self.mha(t, q, q, need_weights=False)[0],
        )


class Transformer(nn.Module):
    families = ["transformer_encoder_layer"]

    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)

    def forward(self, t):
        return (self.layer(t),)


class Recurrent(nn.Module):
    families = ["lstm", "gru"]

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 12, batch_first=True)
        self.gru = nn.GRU(16, 10, num_layers=2, batch_first=True)

    def forward(self, t):
        return self.lstm(t)[0], self.gru(t)[0]


class Convs(nn.Module):
    families = ["conv_transpose", "grouped", "depthwise", "dilated", "conv5x5", "conv1x7_stride2"]

    def __init__(self):
        super().__init__()
        self.transpose = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1)
        self.grouped = nn.Conv2d(4, 6, 3, groups=2, padding=1)
        self.depthwise = nn.Conv2d(4, 4, 5, groups=4, padding=2)
        self.dilated = nn.Conv2d(4, 5, 3, dilation=2, padding=2)
        self.wide = nn.Conv2d(4, 3, 5, padding=2)
        self.rectangular = nn.Conv2d(4, 3, (1, 7), stride=2, padding=(0, 3))

    def forward(self, x):
        return (
            self.transpose(x),
            self.grouped(x),
            self.depthwise(x),
            self.dilated(x),
            self.wide(x),
            self.rectangular(x),
        )


class Pools(nn.Module):
    families = [
        "adaptive_avg_fixed",
        "adaptive_avg_uneven",
        "adaptive_max_uneven",
        "max_ceil",
        "avg_ceil",
        "avg_no_pad_count",
    ]

    def forward(self, x):
        return (
            F.adaptive_avg_pool2d(x[..., :8, :10], (4, 5)),
            F.adaptive_avg_pool2d(x, (4, 3)),
            F.adaptive_max_pool2d(x, (2, 5)),
            F.max_pool2d(x, 3, 2, ceil_mode=True),
            F.avg_pool2d(x, 2, 2, ceil_mode=True),
            F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
        )


class Resampling(nn.Module):
    families = [
        "pad_reflect",
        "pad_replicate",
        "pad_constant",
        "nearest",
        "nearest_exact",
        "area",
        "bilinear",
        "bilinear_align",
        "bicubic",
    ]

    def forward(self, x):
        size = (13, 17)
        return (
            F.pad(x, (1, 2, 2, 1), mode="reflect"),
            F.pad(x, (1, 2, 2, 1), mode="replicate"),
            F.pad(x, (1, 2, 2, 1), value=0.5),
            F.interpolate(x, scale_factor=2, mode="nearest"),
            F.interpolate(x, scale_factor=2, mode="nearest-exact"),
            F.interpolate(x, scale_factor=0.5, mode="area"),
            F.interpolate(x, size=size, mode="bilinear"),
            F.interpolate(x, size=size, mode="bilinear", align_corners=True),
            F.interpolate(x, size=size, mode="bicubic"),
        )


class TensorOps(nn.Module):
    families = [
        "slice_step",
        "cat",
        "split",
        "chunk",
        "gather",
        "index_select",
        "permute",
        "sum",
        "mean",
        "amax",
        "amin_keepdim",
        "var",
        "argmax",
        "broadcast_arith",
        "same_value",
        "same_value_again",
    ]

    def forward(self, x, row):
        a, b = torch.split(x, [1, 3], dim=1)
        c, d = torch.chunk(x, 2, dim=3)
        index = torch.tensor([2, 0, 1]).reshape(1, 1, 3, 1).expand(1, 4, 3, 11)
        y = x.relu()
        return (
            x[:, :, 1:8:2, ::3],
            torch.cat([b, a], 1),
            a * 2,
            d - c[..., :5],
            torch.gather(x, 2, index),
            x[:, torch.tensor([3, 0, 2])],
            x.permute(0, 2, 3, 1),
            x.sum(1),
            x.mean((2, 3)),
            x.amax(2),
            x.amin(3, keepdim=True),
            x.var(1),
            x.argmax(1).float(),
            (x * row + 2.0) / (row.abs() + 1) - torch.maximum(x, row) ** 2,
            y,
            y,
        )


GROUPS = {
    "activations": (Activations, lambda: (_image(),)),
    "softmax": (Softmaxes, lambda: (_image(), _tokens())),
    "norms": (Norms, lambda: (_image(), _tokens())),
    "attention": (Attention, lambda: (_tokens(), _tokens())),
    "transformer": (Transformer, lambda: (_tokens(),)),
    "recurrent": (Recurrent, lambda: (_tokens(),)),
    "convs": (Convs, lambda: (_image(),)),
    "pools": (Pools, lambda: (_image(),)),
    "resampling": (Resampling, lambda: (_image(),)),
    "tensor_ops": (TensorOps, lambda: (_image(), torch.randn(1, 1, 9, 1))),
}
# arm64 runs under qemu: the groups whose code differs most from the host's vector widths.
ARM64 = [
    "activations",
    "softmax",
    "norms",
    "attention",
    "recurrent",
    "convs",
    "pools",
    "tensor_ops",
]


@pytest.mark.parametrize(
    "group, target", [(g, "host") for g in GROUPS] + [(g, "arm64-neon") for g in ARM64]
)
def test_family_matches_torch(group, target):
    torch.manual_seed(0)
    make, inputs = GROUPS[group]
    model, xs = make().eval(), inputs()
    exe = pattern_mlir.compile(
        model, xs, target=target, options=pattern_mlir.CompileOptions(num_threads=1)
    )
    with torch.no_grad():
        expected = model(*xs)
    for _run in range(2):  # a second input: garbage read past a buffer changes between runs
        got = exe(*xs)
        got = got if isinstance(got, tuple) else (got,)
        assert len(got) == len(expected) == len(model.families)
        for family, g, e in zip(model.families, got, expected):
            error = float((g - e).abs().max() / max(float(e.abs().max()), 1e-12))
            assert error <= TOLERANCE, f"{group}/{family} on {target}: relative error {error:.2e}"
        xs = tuple(torch.randn_like(x) for x in xs)
        with torch.no_grad():
            expected = model(*xs)
