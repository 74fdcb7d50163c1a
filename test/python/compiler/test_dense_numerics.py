"""pattern-vectorize-dense through the whole CPU pipeline vs torch.

Single ops are written as linalg-on-tensors text (as torch-mlir writes them: a tensor.pad in
front of convs and pools, the bias as a linalg.broadcast into the output, nn.Linear as a
transpose of the weight feeding linalg.matmul) and compiled with `compile_str`; shapes are
chosen for remainders (rows not a multiple of the register block, pixels not a multiple of
the vector, strides, 1x1 and 2x2 images). Whole blocks of the zoo models (ResNet-50
bottleneck with a strided 3x3 and a downsampling 1x1, MobileNet-V2 inverted residuals, the
ResNet stem with max pooling) go through `pattern_mlir.compile` with patterns off, so every
conv is dense. A few cases run as aarch64 code under qemu.
"""

from __future__ import annotations

import re

import numpy as np
import pattern_mlir
import pytest
import torch

TOLERANCE = 1e-5


def _hex(array: np.ndarray) -> str:
    return 'dense<"0x' + np.ascontiguousarray(array, "<f4").tobytes().hex().upper() + '">'


def _relative_error(got, want) -> float:
    got, want = np.asarray(got), np.asarray(want)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-12))


def _pad(name: str, channels: int, h: int, w: int, p: int, value: str = "0.0") -> tuple[str, str]:
    if not p:
        return "", name
    text = f"""%padv = arith.constant {value} : f32
  %xp = tensor.pad {name} low[0, 0, {p}, {p}] high[0, 0, {p}, {p}] {{
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %padv : f32
  }} : tensor<1x{channels}x{h}x{w}xf32> to tensor<1x{channels}x{h + 2 * p}x{w + 2 * p}xf32>"""
    return text, "%xp"


def _out_size(size: int, k: int, s: int, p: int) -> int:
    return (size + 2 * p - k) // s + 1


def conv_case(c, f, h, w, k, s, p, d=1, seed=0):
    rng = np.random.default_rng(seed)
    weight = (rng.standard_normal((f, c, k, k)) * 0.2).astype(np.float32)
    bias = rng.standard_normal(f).astype(np.float32)
    x = rng.standard_normal((1, c, h, w)).astype(np.float32)
    extent = (k - 1) * d + 1  # of the dilated kernel
    oh, ow = _out_size(h, extent, s, p), _out_size(w, extent, s, p)
    pad, src = _pad("%x", c, h, w, p)
    out = f"tensor<1x{f}x{oh}x{ow}xf32>"
    text = f"""func.func @forward(%x: tensor<1x{c}x{h}x{w}xf32>) -> {out} {{
  %w = arith.constant {_hex(weight)} : tensor<{f}x{c}x{k}x{k}xf32>
  %b = arith.constant {_hex(bias)} : tensor<{f}xf32>
  {pad}
  %e = tensor.empty() : {out}
  %bb = linalg.broadcast ins(%b : tensor<{f}xf32>) outs(%e : {out}) dimensions = [0, 2, 3]
  %r = linalg.conv_2d_nchw_fchw {{dilations = dense<{d}> : vector<2xi64>, strides = dense<{s}> : vector<2xi64>}}
       ins({src}, %w : tensor<1x{c}x{h + 2 * p}x{w + 2 * p}xf32>, tensor<{f}x{c}x{k}x{k}xf32>) outs(%bb : {out}) -> {out}
  return %r : {out}
}}"""
    want = torch.nn.functional.conv2d(
        torch.from_numpy(x),
        torch.from_numpy(weight),
        torch.from_numpy(bias),
        stride=s,
        padding=p,
        dilation=d,
    ).numpy()
    return text, x, want


def depthwise_case(c, h, w, k, s, p, seed=1):
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((c, 1, k, k)).astype(np.float32)
    bias = rng.standard_normal(c).astype(np.float32)
    x = rng.standard_normal((1, c, h, w)).astype(np.float32)
    oh, ow = _out_size(h, k, s, p), _out_size(w, k, s, p)
    pad, src = _pad("%x", c, h, w, p)
    out = f"tensor<1x{c}x{oh}x{ow}xf32>"
    text = f"""func.func @forward(%x: tensor<1x{c}x{h}x{w}xf32>) -> {out} {{
  %w = arith.constant {_hex(weight)} : tensor<{c}x1x{k}x{k}xf32>
  %b = arith.constant {_hex(bias)} : tensor<{c}xf32>
  {pad}
  %e = tensor.empty() : {out}
  %bb = linalg.broadcast ins(%b : tensor<{c}xf32>) outs(%e : {out}) dimensions = [0, 2, 3]
  %wc = tensor.collapse_shape %w [[0, 1], [2], [3]] : tensor<{c}x1x{k}x{k}xf32> into tensor<{c}x{k}x{k}xf32>
  %r = linalg.depthwise_conv_2d_nchw_chw {{dilations = dense<1> : vector<2xi64>, strides = dense<{s}> : vector<2xi64>}}
       ins({src}, %wc : tensor<1x{c}x{h + 2 * p}x{w + 2 * p}xf32>, tensor<{c}x{k}x{k}xf32>) outs(%bb : {out}) -> {out}
  return %r : {out}
}}"""
    want = torch.nn.functional.conv2d(
        torch.from_numpy(x),
        torch.from_numpy(weight),
        torch.from_numpy(bias),
        stride=s,
        padding=p,
        groups=c,
    ).numpy()
    return text, x, want


def pool_case(kind, c, h, w, k, s, p, seed=2):
    x = np.random.default_rng(seed).standard_normal((1, c, h, w)).astype(np.float32)
    oh, ow = _out_size(h, k, s, p), _out_size(w, k, s, p)
    init, pad_value = ("0xFF800000", "0xFF800000") if kind == "max" else ("0.0", "0.0")
    pad, src = _pad("%x", c, h, w, p, pad_value)
    out = f"tensor<1x{c}x{oh}x{ow}xf32>"
    text = f"""func.func @forward(%x: tensor<1x{c}x{h}x{w}xf32>) -> {out} {{
  %init = arith.constant {init} : f32
  {pad}
  %e = tensor.empty() : {out}
  %f = linalg.fill ins(%init : f32) outs(%e : {out}) -> {out}
  %win = tensor.empty() : tensor<{k}x{k}xf32>
  %r = linalg.pooling_nchw_{kind} {{dilations = dense<1> : vector<2xi64>, strides = dense<{s}> : vector<2xi64>}}
       ins({src}, %win : tensor<1x{c}x{h + 2 * p}x{w + 2 * p}xf32>, tensor<{k}x{k}xf32>) outs(%f : {out}) -> {out}
  return %r : {out}
}}"""
    xt = torch.from_numpy(x)
    if kind == "max":
        want = torch.nn.functional.max_pool2d(xt, k, s, p).numpy()
    else:
        want = (
            torch.nn.functional.avg_pool2d(xt, k, s, p, count_include_pad=True) * (k * k)
        ).numpy()
    return text, x, want


def linear_case(m, k, n, seed=3):
    rng = np.random.default_rng(seed)
    weight = (rng.standard_normal((n, k)) * 0.1).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    x = rng.standard_normal((m, k)).astype(np.float32)
    text = f"""func.func @forward(%x: tensor<{m}x{k}xf32>) -> tensor<{m}x{n}xf32> {{
  %w = arith.constant {_hex(weight)} : tensor<{n}x{k}xf32>
  %b = arith.constant {_hex(bias)} : tensor<{n}xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{k}x{n}xf32>
  %t = linalg.transpose ins(%w : tensor<{n}x{k}xf32>) outs(%e : tensor<{k}x{n}xf32>) permutation = [1, 0]
  %o = tensor.empty() : tensor<{m}x{n}xf32>
  %f = linalg.fill ins(%zero : f32) outs(%o : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %mm = linalg.matmul ins(%x, %t : tensor<{m}x{k}xf32>, tensor<{k}x{n}xf32>) outs(%f : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %r = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>,
                                         affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}}
       ins(%mm, %b : tensor<{m}x{n}xf32>, tensor<{n}xf32>) outs(%o : tensor<{m}x{n}xf32>) {{
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %s = arith.addf %in, %in_0 : f32
    linalg.yield %s : f32
  }} -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}"""
    return text, x, x @ weight.T + bias


ELEMENTWISE = """
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#scalar = affine_map<(d0, d1, d2, d3) -> ()>
func.func @forward(%x: tensor<1x24x7x9xf32>, %y: tensor<1x24x7x9xf32>) -> (tensor<1x24x7x9xf32>, tensor<1x24x1x1xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant dense<0.0> : tensor<f32>
  %c6 = arith.constant dense<6.0> : tensor<f32>
  %e = tensor.empty() : tensor<1x24x7x9xf32>
  %lo = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%x, %c0 : tensor<1x24x7x9xf32>, tensor<f32>) outs(%e : tensor<1x24x7x9xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %p = arith.cmpf ogt, %in, %in_0 : f32
    %s = arith.select %p, %in, %in_0 : f32
    linalg.yield %s : f32
  } -> tensor<1x24x7x9xf32>
  %hi = linalg.generic {indexing_maps = [#scalar, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%c6, %lo : tensor<f32>, tensor<1x24x7x9xf32>) outs(%e : tensor<1x24x7x9xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %p = arith.cmpf olt, %in, %in_0 : f32
    %s = arith.select %p, %in, %in_0 : f32
    linalg.yield %s : f32
  } -> tensor<1x24x7x9xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%hi, %y : tensor<1x24x7x9xf32>, tensor<1x24x7x9xf32>) outs(%e : tensor<1x24x7x9xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %s = arith.addf %in, %in_0 : f32
    linalg.yield %s : f32
  } -> tensor<1x24x7x9xf32>
  %e2 = tensor.empty() : tensor<1x24x1x1xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x24x1x1xf32>) -> tensor<1x24x1x1xf32>
  %red = linalg.generic {indexing_maps = [#id, affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>],
                         iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
        ins(%sum : tensor<1x24x7x9xf32>) outs(%f : tensor<1x24x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<1x24x1x1xf32>
  return %sum, %red : tensor<1x24x7x9xf32>, tensor<1x24x1x1xf32>
}
"""

CONVS = [
    (37, 50, 9, 11, 1, 1, 0),  # 1x1: rows and pixels both with remainders
    (64, 40, 10, 10, 1, 2, 0),  # 1x1 stride 2 (ResNet downsample)
    (16, 24, 15, 13, 3, 1, 1),  # dense 3x3
    (3, 20, 17, 17, 3, 2, 1),  # first layer: 3 channels, stride 2
    (3, 8, 23, 21, 7, 2, 3),  # ResNet stem: 7x7 stride 2
    (40, 70, 1, 1, 1, 1, 0),  # 1x1 image: filters vectorised
    (96, 33, 2, 2, 1, 1, 0),  # 2x2 image, filters not a multiple of the vector
]
# Dilated kernels: the implicit GEMM reads every d-th tap of the dilated extent.
DILATED = [
    (16, 24, 15, 13, 3, 1, 2, 2),  # stride 1, "same" padding
    (8, 12, 17, 17, 3, 2, 2, 2),  # stride 2: the phase planes of the dilated extent
    (6, 5, 20, 19, 5, 1, 0, 3),  # 5x5 dilation 3, no padding
]
# Stride 2 stages rows through even-lane shuffles, the row's tail masked: 112 wide (3 whole
# vectors and a tail of 8 per phase), odd widths (the last window's source ends mid-vector).
DEPTHWISE = [
    (32, 16, 16, 3, 1, 1),
    (12, 9, 11, 3, 2, 1),
    (7, 1, 1, 3, 1, 1),
    (5, 6, 112, 3, 2, 1),
    (4, 7, 67, 3, 2, 1),
    (3, 5, 45, 5, 2, 2),
    (3, 4, 33, 3, 2, 0),
]
POOLS = [
    ("max", 5, 11, 9, 3, 2, 1),
    ("max", 3, 7, 50, 3, 2, 1),
    ("max", 4, 8, 8, 2, 2, 0),
    ("sum", 6, 10, 10, 3, 2, 1),
]
# Pools whose windows tile the image 2, 4, 8 or 16 wide combine neighbouring lanes in
# registers (dense_stencil's `paired`): odd sizes (the last rows and columns are dropped), a
# masked last vector of 2 lanes (one load, the other half past the output), whole vectors
# only; 4x4, 8x8 (an adaptive pool of 56 to 7) and 16 wide, with partial last vectors.
PAIRED_POOLS = [
    ("max", 3, 9, 37, 2, 2, 0),
    ("sum", 2, 6, 64, 2, 2, 0),
    ("max", 2, 5, 33, 2, 2, 0),
    ("max", 2, 9, 37, 4, 4, 0),
    ("sum", 3, 56, 56, 8, 8, 0),
    ("sum", 2, 16, 200, 16, 16, 0),
]
LINEARS = [(1, 100, 37), (3, 37, 50), (9, 64, 33)]


def _run(text: str, x, want, target: str = "host", threads: int = 1):
    exe = pattern_mlir.compile_str(text, target, pattern_mlir.CompileOptions(num_threads=threads))
    assert "dense" in exe.stage_names
    assert _relative_error(exe(x).numpy(), want) <= TOLERANCE
    return exe


@pytest.mark.parametrize("case", CONVS, ids=lambda c: "c{}f{}_{}x{}_k{}s{}p{}".format(*c))
def test_conv_matches_torch(case):
    _run(*conv_case(*case))


# 1x1 convs whose channel planes are whole pages apart, 32 KiB or more, with three filters or
# more per channel, copy each column tile of the input into a packed scratch tile first
# (dense_gemm's pack_b): a 128x128 plane, and a 96x96 one with a partial last tile and a
# partial row block, on each x86 level, arm64 and two threads.
PACKED_1X1 = [(8, 24, 128, 128, 1, 1, 0), (5, 17, 96, 96, 1, 1, 0)]


@pytest.mark.parametrize("target", ["x86-64-v3", "x86-64-v4", "arm64-neon"])
@pytest.mark.parametrize("case", PACKED_1X1, ids=lambda c: "c{}f{}_{}x{}".format(*c))
def test_packed_1x1_conv_matches_torch(case, target):
    _skip_unless_the_host_runs(target)
    exe = _run(*conv_case(*case), target=target)
    assert "memref.alloca" in exe.ir("dense")  # the packed tile


def test_packed_1x1_conv_two_threads_matches_torch():
    exe = _run(*conv_case(*PACKED_1X1[1]), threads=2)
    assert "memref.alloca" in exe.ir("dense")


# 1x1 convs on small maps whose pixels leave lanes idle (49 of 64 in 16 lanes, 9 of 16) run as
# pixels x filters, the filters along the vector, stored lane by lane; filter counts that are
# and are not a whole number of vectors, each x86 level, arm64 (4 lanes: 49 fill 94 %, so the
# usual form), two threads.
SMALL_MAP_1X1 = [(64, 96, 7, 7, 1, 1, 0), (40, 70, 7, 7, 1, 1, 0), (24, 40, 3, 3, 1, 1, 0)]


@pytest.mark.parametrize("target", ["x86-64-v3", "x86-64-v4", "arm64-neon"])
@pytest.mark.parametrize("case", SMALL_MAP_1X1, ids=lambda c: "c{}f{}_{}x{}".format(*c))
def test_small_map_1x1_conv_matches_torch(case, target):
    _skip_unless_the_host_runs(target)
    _run(*conv_case(*case), target=target)


def test_small_map_1x1_conv_two_threads_matches_torch():
    _run(*conv_case(*SMALL_MAP_1X1[0]), threads=2)


# KxK convs whose windows leave columns between the planes' rows (5x5, dilated, small maps)
# run as pixels x filters, one GEMM per output row, where the filters fill their vectors
# better: the output is written whole, in place (no columns to drop). Stride 1 and 2, a
# filter count that is not a whole number of vectors, each x86 level, arm64, two threads.
ROW_GEMM_CONVS = [
    (16, 64, 20, 23, 5, 1, 2, 1),
    (8, 32, 17, 30, 3, 1, 2, 2),
    (24, 40, 16, 18, 3, 1, 3, 3),
    (16, 48, 21, 41, 5, 2, 2, 1),
]


def _row_gemm_case(c, f, h, w, k, s, p, d):
    text, x, want = conv_case(c, f, h, w, k, s, p, d)
    return text, x, want, f * want.shape[2] * want.shape[3]


@pytest.mark.parametrize("target", ["x86-64-v3", "x86-64-v4", "arm64-neon"])
@pytest.mark.parametrize(
    "case", ROW_GEMM_CONVS, ids=lambda c: "c{}f{}_{}x{}_k{}s{}p{}d{}".format(*c)
)
def test_row_gemm_conv_matches_torch(case, target):
    _skip_unless_the_host_runs(target)
    text, x, want, size = _row_gemm_case(*case)
    exe = _run(text, x, want, target=target)
    if target != "arm64-neon" or case[1] % 4 == 0:
        # the kernel writes the output itself: its flat size, no wider planes' rows
        assert f"memref<{size}xf32>) -> ()" in exe.ir("dense")


def test_row_gemm_conv_two_threads_matches_torch():
    text, x, want, size = _row_gemm_case(*ROW_GEMM_CONVS[0])
    assert f"memref<{size}xf32>) -> ()" in _run(text, x, want, threads=2).ir("dense")


class _WideConvAndAdd(torch.nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(channels, channels, 5, padding=2)

    def forward(self, x):
        return torch.relu(self.conv(x) + x)


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
def test_row_gemm_conv_with_a_residual_matches_torch(target):
    torch.manual_seed(0)
    x = torch.randn(1, 32, 13, 30)
    assert _compile_module(_WideConvAndAdd(32), x, target) <= TOLERANCE


@pytest.mark.parametrize(
    "case, lanes, rows, by_rows",
    [
        ((64, 64, 56, 56, 5, 1, 2, 1), 16, 6, True),  # 4 of 60 columns between rows
        ((64, 64, 56, 56, 3, 1, 2, 2), 16, 6, True),  # dilation 2: the same
        ((64, 64, 56, 56, 3, 1, 1, 1), 16, 6, False),  # 2 of 58: 3 %
        ((128, 128, 14, 14, 3, 1, 1, 1), 16, 6, True),  # 2 of 16
        ((512, 512, 7, 7, 3, 1, 1, 1), 16, 6, False),  # 7 pixels: blocks of 6 and 1
        ((64, 40, 56, 56, 5, 1, 2, 1), 16, 8, False),  # 40 filters fill 83 % of 48 lanes
        ((64, 40, 56, 56, 5, 1, 2, 1), 8, 4, True),  # and all of 40
        ((8, 20, 5, 6, 1, 1, 0, 1), 4, 6, False),  # 1x1: no columns between rows (its own rule)
    ],
)
def test_wide_windows_vectorise_the_filters_where_they_fill_more_lanes(case, lanes, rows, by_rows):
    from pattern_mlir.passes.dense.plans import Planes, Source, _filters_skip_row_gaps

    c, f, h, w, k, s, p, d = case
    extent = (k - 1) * d + 1
    oh, ow = _out_size(h, extent, s, p), _out_size(w, extent, s, p)
    planes = Planes(Source(None, (1, c, h, w), (p, p, p, p)), (extent, extent), (s, s), (oh, ow))
    assert _filters_skip_row_gaps(planes, ow, f, lanes, rows) is by_rows


# Pixels x filters with a weight panel larger than L1 and blocks of fewer than 6 pixels
# (AVX2's 4) runs the reduction in chunks, the partial sums in a scratch tile (dense_gemm's
# k_chunk): a last chunk shorter than the rest, channels taken 4 and 2 at a time, a partial
# last filter tile with a masked last vector, two threads, a fused residual and ReLU.
# AVX-512's 6-pixel blocks keep the reduction whole. x86-64-v3 takes the host's L1 size
# (32 KB on Zen, 48 KB on recent Xeons): 1000 channels make a panel larger than either.
CHUNKED_1X1 = [(1000, 96, 7, 7, 1, 1, 0), (518, 37, 7, 7, 1, 1, 0)]


@pytest.mark.parametrize("target", ["x86-64-v3", "x86-64-v4"])
@pytest.mark.parametrize("case", CHUNKED_1X1, ids=lambda c: "c{}f{}_{}x{}".format(*c))
def test_chunked_small_map_1x1_conv_matches_torch(case, target):
    _skip_unless_the_host_runs(target)
    exe = _run(*conv_case(*case), target=target)
    # the partial sums' scratch tile
    assert ("memref.alloca" in exe.ir("dense")) == (target == "x86-64-v3")


@pytest.mark.parametrize("case", CHUNKED_1X1, ids=lambda c: "c{}f{}_{}x{}".format(*c))
def test_chunked_small_map_1x1_conv_two_threads_matches_torch(case):
    """Two groups: of column tiles (96 filters, 4 tiles), of row blocks (37: 1 tile)."""
    _skip_unless_the_host_runs("x86-64-v3")
    exe = _run(*conv_case(*case), target="x86-64-v3", threads=2)
    assert "memref.alloca" in exe.ir("dense")


def test_chunked_small_map_1x1_conv_with_residual_matches_torch():
    """The epilogue (residual add, ReLU) runs once, after the last chunk."""
    _skip_unless_the_host_runs("x86-64-v3")
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(520, 37, 1).eval()
    x, r = torch.randn(1, 520, 7, 7), torch.randn(1, 37, 7, 7)

    class Block(torch.nn.Module):
        def forward(self, x, r):
            return torch.relu(conv(x) + r)

    exe = pattern_mlir.compile(
        Block(), (x, r), target="x86-64-v3", options=pattern_mlir.CompileOptions(num_threads=1)
    )
    assert "memref.alloca" in exe.ir("dense")
    with torch.no_grad():
        want = torch.relu(conv(x) + r).numpy()
    assert _relative_error(exe(x, r).numpy(), want) <= TOLERANCE


# Small maps: rows of at most half a vector run as vectors over the plane's row pitch, each
# row shuffled out (dense_stencil's `wide`; 16 lanes), and small planes are staged a batch of
# channels before they are computed: 37 channels (a partial batch), stride 2 (phase planes),
# a 5x5 kernel on a 5x6 map, an unpadded map read in place, max and sum pools.
SMALL_MAP_STENCILS = [
    ("dw", 37, 7, 7, 3, 1, 1),
    ("dw", 20, 14, 14, 3, 2, 1),
    ("dw", 40, 5, 6, 5, 1, 2),
    ("dw", 9, 8, 8, 3, 1, 0),
    ("max", 24, 7, 7, 3, 1, 1),
    ("sum", 18, 9, 9, 3, 2, 1),
]


def _small_map_case(kind, *case):
    return depthwise_case(*case) if kind == "dw" else pool_case(kind, *case)


@pytest.mark.parametrize("target", ["x86-64-v3", "x86-64-v4", "arm64-neon"])
@pytest.mark.parametrize(
    "case", SMALL_MAP_STENCILS, ids=lambda c: "{}_c{}_{}x{}_k{}s{}p{}".format(*c)
)
def test_small_map_stencil_matches_torch(case, target):
    _skip_unless_the_host_runs(target)
    exe = _run(*_small_map_case(*case), target=target)
    if target == "x86-64-v4":
        assert "vector.shuffle" in exe.ir("dense")  # the rows taken out of the wide vectors


def test_small_map_stencil_three_threads_matches_torch():
    _run(*_small_map_case(*SMALL_MAP_STENCILS[0]), threads=3)


class _DepthwiseAndAdd(torch.nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.depthwise = torch.nn.Conv2d(channels, channels, 3, padding=1, groups=channels)

    def forward(self, x):
        return torch.nn.functional.relu6(self.depthwise(x)) + x


@pytest.mark.parametrize("target", ["host", "x86-64-v3", "arm64-neon"])
def test_small_map_depthwise_with_a_residual_matches_torch(target):
    torch.manual_seed(1)
    x = torch.randn(1, 24, 7, 7)
    assert _compile_module(_DepthwiseAndAdd(24), x, target) <= TOLERANCE


class _ProjectAndAdd(torch.nn.Module):
    """A MobileNet-V2 block's end on a small map: 1x1 projection, plus the block's input."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.expand = torch.nn.Conv2d(channels, hidden, 1)
        self.project = torch.nn.Conv2d(hidden, channels, 1)

    def forward(self, x):
        return self.project(torch.nn.functional.relu6(self.expand(x))) + x


@pytest.mark.parametrize("target", ["host", "x86-64-v3", "arm64-neon"])
def test_small_map_1x1_conv_with_a_residual_matches_torch(target):
    torch.manual_seed(0)
    x = torch.randn(1, 32, 7, 7)
    assert _compile_module(_ProjectAndAdd(32, 96), x, target) <= TOLERANCE


@pytest.mark.parametrize(
    "pixels, filters, lanes, by_filters",
    [
        (4, 64, 16, True),  # a tiny image: always
        (49, 96, 16, True),  # 77 % of the lanes busy along pixels, 100 % along filters
        (49, 70, 16, True),  # 77 % against 88 %
        (49, 96, 8, True),  # 88 % against 100 %
        (49, 96, 4, False),  # 94 %: pixels fill the lanes well enough
        (196, 576, 16, False),  # 94 %
        (49, 20, 16, False),  # 77 % against 62 %: the filters would waste more
    ],
)
def test_small_maps_vectorise_the_filters_where_they_fill_more_lanes(
    pixels, filters, lanes, by_filters
):
    from pattern_mlir.passes.dense.plans import _filters_fill_lanes_better

    assert _filters_fill_lanes_better(pixels, filters, lanes) is by_filters


@pytest.mark.parametrize(
    "plane_bytes, filters, channels, tile, packs",
    [
        (128 * 128 * 4, 64, 16, 64, True),  # 16 pages apart, four filters per channel
        (96 * 96 * 4, 48, 16, 64, True),  # 9 pages
        (128 * 128 * 4, 32, 16, 64, False),  # two filters per channel: the copy does not pay
        (64 * 64 * 4, 128, 32, 64, False),  # 4 pages: the tile stays in cache unpacked
        (112 * 112 * 4, 96, 16, 64, False),  # 12.25 pages: channels spread over the sets
        # AVX2's 24-float tiles: 256 channels fit L1 (32 KiB) packed, not in place.
        (56 * 56 * 4, 64, 256, 24, True),
        (28 * 28 * 4, 512, 256, 24, True),  # a stride-2 1x1 conv's phase plane
        (56 * 56 * 4, 12, 256, 24, False),  # three row blocks: too few reads for the copy
        (28 * 28 * 4, 128, 512, 24, False),  # 48 KiB packed: L1 holds neither
        (56 * 56 * 4, 256, 64, 24, False),  # 12 KiB in place: fits unpacked
        (56 * 56 * 4, 64, 256, 64, False),  # AVX-512's 64-float tiles: 64 KiB packed
        (28 * 28 * 4, 512, 128, 64, False),  # whole lines: 32 KiB packed and in place alike
    ],
)
def test_1x1_convs_pack_their_input_tiles_where_it_pays(
    plane_bytes, filters, channels, tile, packs
):
    from pattern_mlir.passes.dense.plans import _packing_pays

    assert _packing_pays(plane_bytes, filters, channels, tile, 4, 32 * 1024) is packs


# The same copy where AVX2's column tile fits L1 only packed (320 channels of 24 floats: 30
# KiB packed, 60 KiB in place, so on an L1 of 32 KB (Zen) and of 48 KB (recent Xeons, Zen 5)
# alike): stride 1 and stride 2 (the tile read from a phase plane), a partial last row block.
L1_PACKED_1X1 = [(320, 64, 56, 56, 1, 1, 0), (320, 70, 56, 56, 1, 2, 0)]


@pytest.mark.parametrize(
    "case", L1_PACKED_1X1, ids=lambda c: "c{}f{}_{}x{}_s{}".format(*c[:4], c[5])
)
def test_l1_packed_1x1_conv_matches_torch(case):
    _skip_unless_the_host_runs("x86-64-v3")
    exe = _run(*conv_case(*case), target="x86-64-v3")
    assert "memref.alloca" in exe.ir("dense")


def _host_runs_avx512() -> bool:
    from pattern_mlir.target.registry import resolve_target, runs_on_host

    return runs_on_host(resolve_target("x86-64-v4"))


def _skip_unless_the_host_runs(target: str) -> None:
    """x86-64-v4 code cannot run on an AVX2-only host; x86-64-v3 and arm64 (qemu) run anywhere."""
    if target == "x86-64-v4" and not _host_runs_avx512():
        pytest.skip("the host has no AVX-512")


@pytest.mark.parametrize("case", DILATED, ids=lambda c: "c{}f{}_{}x{}_k{}s{}p{}d{}".format(*c))
def test_dilated_conv_matches_torch(case):
    exe = _run(*conv_case(*case))
    # A GEMM kernel (direct, or Winograd's batch of GEMMs), not the generic path.
    assert re.search(r"func\.func private @dense_0(_gemm)?\(", exe.ir("dense"))


@pytest.mark.parametrize("case", DEPTHWISE, ids=lambda c: "c{}_{}x{}_k{}s{}p{}".format(*c))
def test_depthwise_matches_torch(case):
    _run(*depthwise_case(*case))


@pytest.mark.parametrize(
    "case", POOLS + PAIRED_POOLS, ids=lambda c: "{}_c{}_{}x{}_k{}s{}p{}".format(*c)
)
def test_pooling_matches_torch(case):
    _run(*pool_case(*case))


@pytest.mark.parametrize(
    "case, shuffles",
    [(PAIRED_POOLS[0], 4), (PAIRED_POOLS[4], 14)],
    ids=["2x2_two_row_vectors", "8x8_one_row_vector"],
)
def test_paired_pooling_reads_in_place(case, shuffles):
    """On 16-lane vectors (x86-64-v4; the pass plans for it on any host): even + odd lanes
    per fold, one fold per pair of vectors (2x2: 2 output vectors a row; 8x8: 4 + 2 + 1 folds)."""
    from mlir import ir
    from pattern_mlir.passes.registry import lookup

    with ir.Context():
        module = ir.Module.parse(pool_case(*case)[0])
        lookup("pattern-vectorize-dense")(target="x86-64-v4").apply(module.operation)
        dense = str(module)
    assert "%stage" not in dense and dense.count("vector.shuffle") == shuffles


def test_paired_pooling_arm64_matches_torch():
    _run(*pool_case(*PAIRED_POOLS[0]), target="arm64-neon")


@pytest.mark.parametrize("case", LINEARS, ids=lambda c: "m{}k{}n{}".format(*c))
def test_linear_matches_torch(case):
    _run(*linear_case(*case))


def test_two_threads_match_torch():
    _run(*conv_case(24, 30, 12, 12, 1, 1, 0), threads=2)
    _run(*depthwise_case(9, 10, 10, 3, 1, 1), threads=2)
    _run(*depthwise_case(*DEPTHWISE[4]), threads=3)  # each group's scratch padded once, stride 2


@pytest.mark.parametrize(
    "case,threads",
    [((40, 70, 7, 7, 1, 1, 0), 2), ((16, 45, 9, 9, 3, 1, 1), 3)],
    ids=["1x1_7x7_2t", "3x3_9x9_3t"],
)
def test_few_column_tiles_split_filters_over_threads(case, threads):
    # 49 or 81 pixels are less than one full column tile per thread: the row blocks
    # (filters, with a remainder block) are what the threads share.
    text, x, want = conv_case(*case)
    exe = pattern_mlir.compile_str(text, "host", pattern_mlir.CompileOptions(num_threads=threads))
    assert "scf.parallel" in exe.ir("dense")
    assert _relative_error(exe(x).numpy(), want) <= TOLERANCE


def test_elementwise_and_reduction_match_numpy():
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((1, 24, 7, 9)) * 5).astype(np.float32)
    y = rng.standard_normal((1, 24, 7, 9)).astype(np.float32)
    exe = pattern_mlir.compile_str(ELEMENTWISE, "host", pattern_mlir.CompileOptions(num_threads=1))
    assert "vector.transfer_read" in exe.ir("dense") and "linalg.generic" not in exe.ir("dense")
    total, reduced = exe(x, y)
    want = np.minimum(np.maximum(x, 0), 6) + y
    assert _relative_error(total.numpy(), want) <= TOLERANCE
    assert _relative_error(reduced.numpy(), want.sum(axis=(2, 3), keepdims=True)) <= TOLERANCE


ARM64 = [
    ("conv3x3s2", lambda: conv_case(3, 20, 17, 17, 3, 2, 1)),
    ("conv3x3s2d2", lambda: conv_case(*DILATED[1])),
    ("conv1x1_tiny", lambda: conv_case(40, 70, 1, 1, 1, 1, 0)),
    ("depthwise_s2", lambda: depthwise_case(12, 9, 11, 3, 2, 1)),
    ("depthwise_s2_wide", lambda: depthwise_case(*DEPTHWISE[4])),
    ("pool_8x8", lambda: pool_case(*PAIRED_POOLS[4])),
    ("maxpool", lambda: pool_case("max", 5, 11, 9, 3, 2, 1)),
    ("linear", lambda: linear_case(3, 37, 50)),
]


@pytest.mark.parametrize("make", [m for _, m in ARM64], ids=[n for n, _ in ARM64])
def test_arm64_matches_torch(make):
    _run(*make(), target="arm64-neon")


# ----- blocks of the zoo models, through torch-mlir ------------------------------------------


def _compile_module(module: torch.nn.Module, x: torch.Tensor, target: str = "host") -> float:
    module.eval()
    with torch.no_grad():
        want = module(x)
    options = pattern_mlir.CompileOptions(num_threads=1, patterns=False)
    exe = pattern_mlir.compile(module, x, target, options)
    dense = exe.ir("dense")
    forward = dense[dense.index("func.func @forward") :]
    forward = forward[: forward.index("\n  }\n")]
    assert (
        "linalg.conv" not in forward
        and "linalg.matmul" not in forward
        and "linalg.pooling" not in forward
    )
    assert "linalg.depthwise" not in forward
    return _relative_error(exe(x).numpy(), want.numpy())


@pytest.fixture(scope="module")
def resnet():
    from pattern_mlir import models

    return models.build("resnet50", small=True, random_bn=True)[0]


@pytest.fixture(scope="module")
def mobilenet():
    from pattern_mlir import models

    return models.build("mobilenet-v2", small=True, random_bn=True)[0]


def test_resnet_stem_and_strided_bottleneck(resnet):
    """7x7/2 stem, BN, ReLU, 3x3/2 max pool, then a bottleneck with a 3x3/2 and a 1x1/2 downsample."""
    block = torch.nn.Sequential(
        resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool, resnet.layer1[0], resnet.layer2[0]
    )
    x = torch.rand(1, 3, 32, 32)
    assert _compile_module(block, x) <= 1e-4


def test_mobilenet_inverted_residuals(mobilenet):
    """Expand 1x1 + ReLU6, depthwise 3x3/2, project; then a block with the residual add."""
    block = torch.nn.Sequential(mobilenet.features[2], mobilenet.features[3])
    x = torch.rand(1, 16, 16, 16)
    assert _compile_module(block, x) <= 1e-4


def test_linear_layers():
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(100, 37), torch.nn.ReLU(), torch.nn.Linear(37, 10))
    assert _compile_module(mlp, torch.rand(3, 100)) <= 1e-4


def test_identical_kernels_are_emitted_once():
    """Layers of one shape share a kernel (their weights are arguments): three 48x48 linears
    give one kernel function called three times, and each still computes with its own weights."""
    torch.manual_seed(1)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(48, 48),
        torch.nn.Tanh(),
        torch.nn.Linear(48, 48),
        torch.nn.Tanh(),
        torch.nn.Linear(48, 48),
    ).eval()
    x = torch.rand(5, 48)
    exe = pattern_mlir.compile(mlp, x, "host", pattern_mlir.CompileOptions(num_threads=1))
    dense = exe.ir("dense")
    assert len(re.findall(r"func\.func private @dense_\d+\(", dense)) == 1
    assert len(re.findall(r"call @dense_\d+_entry\(", dense)) == 3
    with torch.no_grad():
        assert _relative_error(exe(x).numpy(), mlp(x).numpy()) <= TOLERANCE


def test_mobilenet_block_arm64(mobilenet):
    block = torch.nn.Sequential(mobilenet.features[3])
    assert _compile_module(block, torch.rand(1, 24, 8, 8), target="arm64-neon") <= 1e-4


@pytest.mark.parametrize("n", [48, 50, 7])
def test_column_panels_of_a_transposed_weight(n):
    """B's columns in panels of `tile`, the last one zero-padded; B is a linear weight's .T view."""
    from pattern_mlir.passes.dense.plans import pack_column_panels

    weight = np.random.default_rng(n).standard_normal((n, 5)).astype(np.float32)  # N x K
    packed = pack_column_panels(weight.T, 16)
    panels = -(-n // 16)
    assert packed.shape == (panels, 5, 16) and packed.flags.c_contiguous
    padded = np.zeros((panels * 16, 5), np.float32)
    padded[:n] = weight
    for p in range(panels):
        assert np.array_equal(packed[p], padded[p * 16 : (p + 1) * 16].T)
