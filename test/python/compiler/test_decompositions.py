"""Ops torch-mlir lowers to IR that later passes reject, decomposed before the import
(frontend/torch_decompositions.py): cropping with F.pad and grouped transposed convs; and
linear upsampling, decomposed one dimension at a time so its indices fold to constants."""

from __future__ import annotations

import pattern_mlir
import pytest
import torch
from pattern_mlir.testing import relative_error


class Crop(torch.nn.Module):
    def __init__(self, pad: tuple[int, ...]):
        super().__init__()
        self.pad = pad

    def forward(self, x):
        return torch.nn.functional.pad(torch.tanh(x), self.pad, value=0.5) * 2.0


@pytest.mark.parametrize(
    "pad",
    [(-1, 2, 0, -3), (-2, -1), (1, -1, -2, 2, 0, 1), (0, 0, -1, 0), (2, -1, 3, -1, 2, -5)],
    ids=["crop_and_pad", "crop_last", "three_dims", "crop_top", "crop_whole_batch_side"],
)
def test_negative_padding_matches_torch(pad):
    torch.manual_seed(0)
    model, x = Crop(pad).eval(), torch.randn(2, 5, 7, 9)
    exe = pattern_mlir.compile(model, (x,), options=pattern_mlir.CompileOptions(num_threads=1))
    assert relative_error(exe(x), model(x)) <= 1e-5


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
@pytest.mark.parametrize(
    "conv",
    [
        dict(in_channels=6, out_channels=6, kernel_size=3, stride=2, groups=6),
        dict(
            in_channels=8, out_channels=4, kernel_size=4, stride=3, padding=2, dilation=2, groups=2
        ),
        dict(in_channels=6, out_channels=9, kernel_size=2, stride=2, groups=3, bias=False),
        # Padded beyond dilation * (kernel - 1): torch-mlir sliced past its canvas (seed 2095).
        dict(
            in_channels=4, out_channels=5, kernel_size=(3, 1), stride=3, padding=1, output_padding=2
        ),
        dict(in_channels=4, out_channels=4, kernel_size=1, stride=2, padding=(2, 1), groups=2),
    ],
    ids=["depthwise_s2", "g2_s3_p2_d2", "g3_nobias", "k3x1_p1_op2", "k1_p2x1_g2"],
)
def test_transposed_conv_decompositions_match_torch(conv, target):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.ConvTranspose2d(**conv), torch.nn.ReLU()).eval()
    x = torch.randn(2, conv["in_channels"], 5, 6)
    exe = pattern_mlir.compile(model, (x,), target=target)
    with torch.inference_mode():
        want = model(x)
    assert relative_error(exe(x), want) <= 1e-5


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
def test_tanh_gelu_uses_the_exact_constant(target):
    """torch-mlir's lowering of tanh-GELU takes sqrt(2/pi) as 0.797724, 4e-5 off torch's
    results; the decomposition writes it out with the f32 constant."""
    model = torch.nn.GELU(approximate="tanh").eval()
    x = torch.linspace(-6.0, 6.0, 2401).reshape(1, 2401)
    exe = pattern_mlir.compile(model, (x,), target=target)
    with torch.inference_mode():
        want = model(x)
    assert relative_error(exe(x), want) <= 1e-6


def test_exact_gelu_multiplies_by_sqrt_half():
    """torch computes x sqrt(1/2) inside erf; torch-mlir's lowering divides by sqrt(2), a
    vector division per element. The decomposition multiplies, as torch does."""
    model = torch.nn.GELU().eval()
    x = torch.linspace(-6.0, 6.0, 2401).reshape(1, 2401)
    exe = pattern_mlir.compile(model, (x,), options=pattern_mlir.CompileOptions(num_threads=1))
    assert "arith.divf" not in exe.ir("linalg")
    with torch.inference_mode():
        want = model(x)
    assert relative_error(exe(x), want) <= 1e-6


class Interpolate(torch.nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs

    def forward(self, x):
        return torch.nn.functional.interpolate(torch.tanh(x), **self.kwargs) * 2.0


LINEAR_UPSAMPLING = {
    "bilinear_x2": ((2, 3, 7, 9), dict(scale_factor=2, mode="bilinear")),
    "bilinear_align": ((1, 3, 7, 9), dict(size=(7, 20), mode="bilinear", align_corners=True)),
    "bilinear_uneven": ((1, 3, 7, 9), dict(scale_factor=(1.7, 0.6), mode="bilinear")),
    "bilinear_recompute": (
        (1, 2, 7, 9),
        dict(scale_factor=2.5, mode="bilinear", recompute_scale_factor=True),
    ),
    "bilinear_same_size": ((1, 2, 7, 9), dict(size=(7, 9), mode="bilinear")),
    "bilinear_one_row": ((1, 2, 1, 9), dict(size=(4, 1), mode="bilinear", align_corners=True)),
    "linear_x3": ((1, 4, 10), dict(scale_factor=3, mode="linear")),
    "linear_align": ((1, 4, 10), dict(size=7, mode="linear", align_corners=True)),
    "trilinear": ((1, 2, 3, 4, 5), dict(scale_factor=2, mode="trilinear")),
    "trilinear_align": (
        (1, 2, 3, 4, 5),
        dict(size=(2, 6, 5), mode="trilinear", align_corners=True),
    ),
}


@pytest.mark.parametrize("case", list(LINEAR_UPSAMPLING), ids=list(LINEAR_UPSAMPLING))
def test_linear_upsampling_matches_torch(case):
    shape, kwargs = LINEAR_UPSAMPLING[case]
    torch.manual_seed(2)
    model, x = Interpolate(**kwargs).eval(), torch.randn(*shape)
    exe = pattern_mlir.compile(model, (x,), options=pattern_mlir.CompileOptions(num_threads=1))
    assert relative_error(exe(x), model(x)) <= 1e-5


@pytest.mark.parametrize("case", ["bilinear_x2", "trilinear_align"])
def test_linear_upsampling_on_arm64(case):
    shape, kwargs = LINEAR_UPSAMPLING[case]
    torch.manual_seed(3)
    model, x = Interpolate(**kwargs).eval(), torch.randn(*shape)
    exe = pattern_mlir.compile(model, (x,), target="arm64-neon")
    assert relative_error(exe(x), model(x)) <= 1e-5


def test_bilinear_upsampling_indices_are_constants():
    """Decomposed one dimension at a time, the source rows and columns are traced from an
    arange and fold to constants, and the pass over rows reads whole input rows as vectors
    (torch's own decomposition reads the four corners of each output element one by one)."""
    model = torch.nn.Upsample(scale_factor=2, mode="bilinear").eval()
    x = torch.randn(1, 8, 12, 16)
    exe = pattern_mlir.compile(model, (x,), options=pattern_mlir.CompileOptions(num_threads=1))
    dense = exe.ir("dense")
    assert "vector.transfer_read" in dense and "vector.gather" not in dense
    assert relative_error(exe(x), model(x)) <= 1e-5


NEAREST_UPSAMPLING = {
    4: [
        dict(size=(4, 4)),  # 28 -> 4: torch-mlir's rounding read row 6 for torch's 7
        dict(size=(2, 24)),
        dict(size=(28, 9)),
        dict(scale_factor=2),
        dict(scale_factor=(1.7, 0.6)),
        dict(scale_factor=2.5, recompute_scale_factor=True),
        dict(size=(5, 7), mode="nearest-exact"),
        dict(scale_factor=0.45, mode="nearest-exact"),
        dict(scale_factor=(1.1, 1.0), mode="nearest-exact"),
    ],
    3: [dict(size=7), dict(scale_factor=3), dict(size=3, mode="nearest-exact")],
    5: [dict(size=(2, 6, 5)), dict(scale_factor=1.5, mode="nearest-exact")],
}


class NearestMany(torch.nn.Module):
    """Every case of NEAREST_UPSAMPLING in one model, so one compile checks them all."""

    def forward(self, *inputs):
        outs = []
        for x in inputs:
            for kwargs in NEAREST_UPSAMPLING[x.dim()]:
                mode = kwargs.get("mode", "nearest")
                args = {k: v for k, v in kwargs.items() if k != "mode"}
                outs.append(torch.nn.functional.interpolate(x, mode=mode, **args))
        return tuple(outs)


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
def test_nearest_upsampling_picks_torchs_source_indices(target):
    torch.manual_seed(4)
    inputs = (torch.randn(1, 3, 28, 9), torch.randn(1, 4, 10), torch.randn(1, 2, 3, 4, 5))
    model = NearestMany().eval()
    exe = pattern_mlir.compile(model, inputs, target=target)
    got, want = exe(*inputs), model(*inputs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert torch.equal(torch.as_tensor(g), w)


class NearestThenChannelMean(torch.nn.Module):
    def forward(self, x):
        up = torch.nn.functional.interpolate(x, size=(2, 22), mode="nearest")
        return up.mean((0, 2, 3), keepdim=True)


class ResultTwiceThroughAPad(torch.nn.Module):
    def forward(self, x, y):
        t = x.transpose(0, 2)
        return y * y, t, torch.nn.functional.pad(t, [0, 0], mode="reflect")


@pytest.mark.parametrize(
    "model, shapes",
    [
        (NearestThenChannelMean(), [(1, 11, 19, 9)]),
        (ResultTwiceThroughAPad(), [(1, 1, 1), (1, 1, 1)]),
    ],
    ids=["nearest_mean_seed370", "pad_copy_seed494"],
)
def test_gathers_of_index_tables_fuse_and_return_safely(model, shapes):
    """Fuzz seeds 370 and 494. Nearest resampling through index tables fused into a mean left
    the reduced batch loop indexed by no operand (passes/dense/fuse.py now keeps such a
    producer apart); a one-lane gather read as a copy folded into the tensor it copied, so
    @forward returned one buffer twice and upstream's buffer-results-to-out-params crashed
    (passes/dense/gather_shuffles.py leaves in-order reads as gathers)."""
    torch.manual_seed(5)
    inputs = tuple(torch.randn(*s) for s in shapes)
    exe = pattern_mlir.compile(model, inputs, options=pattern_mlir.CompileOptions(num_threads=1))
    got, want = exe(*inputs), model(*inputs)
    got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
    for g, w in zip(got, want):
        assert relative_error(g, w) <= 1e-6


class MaskedAttention(torch.nn.Module):
    def forward(self, x, mask):
        q = x.view(1, 10, 2, 8).transpose(1, 2)
        return torch.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=mask)


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
def test_attention_rows_hidden_whole_give_zeros(target):
    """SDPA's safe softmax: a row the mask hides whole is 0, as in torch (not NaN), and no
    mask as large as the scores is built to find such rows."""
    torch.manual_seed(4)
    x, mask = torch.randn(1, 10, 16), torch.randn(1, 2, 10, 10)
    mask[:, :, 3, :] = float("-inf")
    mask[:, 1, 6, 2:] = float("-inf")
    model = MaskedAttention().eval()
    exe = pattern_mlir.compile(model, (x, mask), target=target)
    assert "x10x10xi1>" not in exe.ir("linalg")
    got, want = exe(x, mask), model(x, mask)
    assert torch.equal(got[:, :, 3], torch.zeros_like(got[:, :, 3]))
    assert relative_error(got, want) <= 1e-5


class CropThenReflect(torch.nn.Module):
    def __init__(self, crop, reflect):
        super().__init__()
        self.crop, self.reflect = crop, reflect

    def forward(self, x):
        return torch.nn.functional.pad(
            torch.nn.functional.pad(x, self.crop), self.reflect, mode="reflect"
        )


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
@pytest.mark.parametrize(
    "crop, reflect",
    [
        ([-1, 1, 0, 0], [2, 2, 1, 1]),
        ([0, 0, 3, -1], [2, 2, 1, 1]),
        ([-1, 1, 3, -1, 0, 3], [2, 2, 0, 0]),
    ],
    ids=["crop_w", "crop_h", "crop_w_h_pad_c"],
)
def test_reflect_padding_of_a_cropped_tensor_matches_torch(crop, reflect, target):
    """The reflection reads the crop (a slice: a strided view once bufferized) with gathers;
    their offsets must follow the source's rows (passes/dense/slice_reads.py), found by the
    random-model fuzzer (seeds 524 and 533)."""
    model, x = CropThenReflect(crop, reflect).eval(), torch.randn(1, 5, 15, 32)
    exe = pattern_mlir.compile(model, (x,), target=target)
    assert relative_error(exe(x), model(x)) <= 1e-6


class GroupedConvFlattened(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(8, 4, 2, stride=2, padding=1, groups=4)
        self.linear = torch.nn.Linear(84, 7)

    def forward(self, x):
        return self.linear(torch.flatten(self.conv(x)))


def test_grouped_conv_flattened_into_a_linear_matches_torch():
    """A flatten folded into the collapse after a grouped conv (fuzzer seed 789): the split
    into one conv per group must not hand the flatten its 4-D result."""
    torch.manual_seed(5)
    model, x = GroupedConvFlattened().eval(), torch.randn(1, 8, 5, 13)
    exe = pattern_mlir.compile(model, (x,), options=pattern_mlir.CompileOptions(num_threads=1))
    with torch.inference_mode():
        assert relative_error(exe(x), model(x)) <= 1e-5


class StridedSliceThenReflect(torch.nn.Module):
    def forward(self, x):
        last = torch.nn.functional.hardswish(x)[..., 11:12:2]  # one column, stride 2
        every_other = x[..., 1::2]  # a strided view of x
        cropped = torch.nn.functional.pad(every_other, [-1, 0, 0, -2])  # a slice of that slice
        return (
            torch.nn.functional.pad(last, [0, 0, 0, 1], mode="reflect"),
            torch.nn.functional.pad(cropped, [2, 1, 1, 1], mode="reflect"),
        )


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
def test_reflect_padding_of_a_strided_slice_matches_torch(target):
    """Gathers from a strided slice had no LLVM lowering (fuzzer seeds 1741, 2205); read at the
    source, index i of a slice of a slice is the composed offset + stride * i."""
    model, x = StridedSliceThenReflect().eval(), torch.randn(1, 10, 13)
    exe = pattern_mlir.compile(model, (x,), target=target)
    for got, want in zip(exe(x), model(x)):
        assert relative_error(got, want) <= 1e-6


class RowsAndNorm(torch.nn.Module):
    """A layer norm over rows of which some are constant (a replicate pad of one value,
    as fuzz seed 3683 builds) and some random."""

    def __init__(self):
        super().__init__()
        self.norm = torch.nn.LayerNorm(6)
        with torch.no_grad():
            self.norm.weight.normal_()
            self.norm.bias.normal_()

    def forward(self, x, value):
        flat = torch.nn.functional.pad(value, (2, 3), mode="replicate")
        return self.norm(torch.cat([x, flat.expand(1, 3, 6)], 1))


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
def test_layer_norm_of_constant_rows_gives_the_bias(target):
    """The corrected mean makes a constant row's deviations exactly 0, as torch's kernel
    does; the mean as sum / N was an ulp off, times 1 / sqrt(eps) (2.5e-4 relative)."""
    torch.manual_seed(5)
    model = RowsAndNorm().eval()
    x, value = (
        torch.randn(1, 4, 6),
        torch.tensor(
            [
                [[0.3]],
            ]
        ),
    )
    exe = pattern_mlir.compile(model, (x, value), target=target)
    with torch.no_grad():
        want = model(x, value)
    got = exe(x, value)
    assert torch.equal(got[:, 4:], want[:, 4:])  # the constant rows: the bias, exactly
    assert relative_error(got, want) <= 1e-6
