"""Route 2's reductions (pattern-vectorize-dense, passes/dense/transform.py) against torch.

* A reduction over a non-innermost loop (a channel mean in NCHW) keeps its accumulator in
  vector registers over the reduction loop, on loops merged into one long parallel loop
  (passes/dense/collapse.py): its dense IR has a loop carrying a vector.
* The f64 variance torch-mlir writes for LayerNorm and GroupNorm is computed in f32
  (passes/dense/demote.py), checked on inputs whose mean is large against their spread;
  a function with f64 at its boundary keeps its f64.

On the host, on x86-64-v3 (AVX2; runs on any x86-64-v4 host) and on arm64 under qemu.
"""

from __future__ import annotations

import re

import numpy as np
import pattern_mlir
import pytest
import torch
from mlir import ir
from pattern_mlir.passes.dense.demote import demote_f64
from pattern_mlir.passes.fold_constant_generics import fold_truncated_constants
from pattern_mlir.passes.registry import lookup
from pattern_mlir.passes.vectorize_dense import collect_ops_in_functions
from torch import nn

TOLERANCE = 1e-4
TARGETS = ["host", "x86-64-v3", "arm64-neon"]
VECTOR_LOOP = re.compile(r"scf\.for .* iter_args\(.*\) -> \((.*, )?vector<")


class Lambda(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _compile(model: nn.Module, x: torch.Tensor, target: str):
    return pattern_mlir.compile(
        model, x, target=target, options=pattern_mlir.CompileOptions(num_threads=1)
    )


def _error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got - want).abs().max() / max(float(want.abs().max()), 1e-12))


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    "shape",
    [(1, 7, 12, 16), (1, 5, 9, 11)],
    ids=["whole_tiles", "remainder"],  # 192 pixels; 99: a remainder tile after the vectors
)
def test_channel_reductions_accumulate_in_registers(shape, target):
    model = Lambda(lambda x: (x.mean(1), x.sum(1, keepdim=True), x.amax(1))).eval()
    x = torch.randn(*shape)
    exe = _compile(model, x, target)
    assert VECTOR_LOOP.search(exe.ir("dense")), "no accumulator carried in registers"
    for _run in range(2):
        with torch.no_grad():
            want = model(x)
        for got, expected in zip(exe(x), want):
            assert _error(got, expected) <= TOLERANCE
        x = torch.randn(*shape) * 10 + 100


NORMS = [
    ("layer_norm", lambda: nn.LayerNorm(37), (1, 5, 37)),
    ("layer_norm_2d", lambda: nn.LayerNorm([7, 33]), (1, 3, 7, 33)),
    ("group_norm", lambda: nn.GroupNorm(3, 12), (1, 12, 9, 11)),
    ("group_norm_one_group", lambda: nn.GroupNorm(1, 5), (1, 5, 13, 7)),
    ("instance_norm", lambda: nn.InstanceNorm2d(6, affine=True), (1, 6, 10, 9)),
    ("var", lambda: Lambda(lambda x: x.var(1)), (1, 7, 5, 6)),
]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("make, shape", [n[1:] for n in NORMS], ids=[n[0] for n in NORMS])
def test_norms_in_f32_match_torch(make, shape, target):
    torch.manual_seed(0)
    model = make().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-2, 2)
    exe = _compile(model, torch.randn(*shape), target)
    assert "f64" not in exe.ir("dense")
    for x in (torch.randn(*shape), torch.randn(*shape) * 10 + 100):
        with torch.no_grad():
            want = model(x)
        assert _error(exe(x), want) <= TOLERANCE


# The shape of what torch-mlir writes for LayerNorm's moments: an f64 copy, its f64 sum,
# the f32 sum of the same input (for the normalisation), the variance truncated to f32.
MOMENTS = """
func.func @forward(%x: tensor<1x4x8xf32>) -> (tensor<1x4x1xf32>, tensor<1x4x1xf32>) {
  %z64 = arith.constant 0.0 : f64
  %z32 = arith.constant 0.0 : f32
  %n = arith.constant 8.0 : f64
  %e64 = tensor.empty() : tensor<1x4x8xf64>
  %copy = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b, c)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<1x4x8xf32>) outs(%e64 : tensor<1x4x8xf64>) {
  ^bb0(%in: f32, %out: f64):
    %w = arith.extf %in : f32 to f64
    linalg.yield %w : f64
  } -> tensor<1x4x8xf64>
  %s64 = tensor.empty() : tensor<1x4x1xf64>
  %f64 = linalg.fill ins(%z64 : f64) outs(%s64 : tensor<1x4x1xf64>) -> tensor<1x4x1xf64>
  %sum64 = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b, 0)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%copy : tensor<1x4x8xf64>) outs(%f64 : tensor<1x4x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %a = arith.addf %in, %out : f64
    linalg.yield %a : f64
  } -> tensor<1x4x1xf64>
  %s32 = tensor.empty() : tensor<1x4x1xf32>
  %f32 = linalg.fill ins(%z32 : f32) outs(%s32 : tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %sum32 = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b, 0)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<1x4x8xf32>) outs(%f32 : tensor<1x4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<1x4x1xf32>
  %mean = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b, c)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%sum64 : tensor<1x4x1xf64>) outs(%s32 : tensor<1x4x1xf32>) {
  ^bb0(%in: f64, %out: f32):
    %d = arith.divf %in, %n : f64
    %t = arith.truncf %d : f64 to f32
    linalg.yield %t : f32
  } -> tensor<1x4x1xf32>
  return %mean, %sum32 : tensor<1x4x1xf32>, tensor<1x4x1xf32>
}
"""


def _generics(text: str) -> tuple[ir.Module, list[ir.Operation]]:
    module = ir.Module.parse(text)
    ops = collect_ops_in_functions(module.operation)
    return module, [o for o in ops if o.name in ("linalg.generic", "linalg.fill")]


def test_f64_moments_become_one_f32_sum():
    with ir.Context(), ir.Location.unknown():
        module, ops = _generics(MOMENTS)
        left = demote_f64(ops)
        text = str(module)
    assert "f64" not in text
    # The copy is gone and the two sums are one: one fill, one sum, the division.
    assert [o.name for o in left] == ["linalg.fill", "linalg.generic", "linalg.generic"]
    assert text.count("reduction") == 1


def test_f64_at_the_boundary_is_kept():
    returns_f64 = MOMENTS.replace(
        "-> (tensor<1x4x1xf32>, tensor<1x4x1xf32>)", "-> (tensor<1x4x1xf64>, tensor<1x4x1xf32>)"
    ).replace(
        "return %mean, %sum32 : tensor<1x4x1xf32>", "return %sum64, %sum32 : tensor<1x4x1xf64>"
    )
    with ir.Context(), ir.Location.unknown():
        module, ops = _generics(returns_f64)
        assert len(demote_f64(ops)) == len(ops)
        lookup("pattern-vectorize-dense")(target="x86-64-v4").apply(module.operation)
        assert "f64" in str(module)


# A Python float added to an f32 tensor, as torch-mlir writes it: an f64 constant truncated
# at the function level, which arith's folder keeps because 1e-5 is inexact in f32.
TRUNCATED_EPS = """
func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
  %eps64 = arith.constant 1.000000e-05 : f64
  %eps = arith.truncf %eps64 : f64 to f32
  %e = tensor.empty() : tensor<4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(a) -> (a)>, affine_map<(a) -> (a)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %eps : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}
"""


def test_truncated_f64_constant_becomes_the_f32_constant():
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(TRUNCATED_EPS)
        fold_truncated_constants(module.operation)
        text = str(module)
    assert "f64" not in text and "truncf" not in text
    # The f32 constant is 1e-5 rounded to nearest, as the truncation computes it.
    constant = next(line for line in text.splitlines() if "arith.constant" in line)
    assert np.float32(constant.split("arith.constant")[1].split(":")[0]) == np.float32(1e-5)


@pytest.mark.parametrize("target", TARGETS)
def test_per_row_values_are_computed_once_per_row(target):
    """log(sum) of a log-softmax and rsqrt(variance) of a LayerNorm in generics over the rows
    (passes/dense/hoist.py): vector code, no scalar log or rsqrt left in the last pass."""
    model = Lambda(lambda x: (torch.log_softmax(x, -1), nn.functional.layer_norm(x, (40,)))).eval()
    x = torch.randn(1, 7, 40)
    exe = _compile(model, x, target)
    dense = exe.ir("dense")
    assert re.search(r"math\.log %\S+ : vector<", dense)
    assert not re.search(r"math\.(log|rsqrt) %\S+ : f32", dense)
    for inputs in (x, torch.randn(1, 7, 40) * 30 + 5):
        with torch.no_grad():
            want = model(inputs)
        for got, expected in zip(exe(inputs), want):
            assert _error(got, expected) <= TOLERANCE


@pytest.mark.parametrize("target", TARGETS)
def test_max_and_min_of_long_rows_keep_nan(target):
    """Rows of 48 reduced as pieces of 16 combined pairwise (transform._as_tree); a NaN
    in a row still makes its max and min NaN, as in torch."""
    model = Lambda(lambda x: (x.amax(-1), x.amin(-1), torch.log_softmax(x, -1))).eval()
    x = torch.randn(1, 5, 48)
    exe = _compile(model, x, target)
    assert "vector.extract_strided_slice" in exe.ir("dense")
    x[0, 2, 37] = float("nan")
    x[0, 4, :] = float("-inf")
    x[0, 4, 5] = 3.0
    with torch.no_grad():
        want = model(x)
    for got, expected in zip(exe(x), want):
        assert torch.equal(got.isnan(), expected.isnan())
        assert torch.equal(got.isinf(), expected.isinf())
        finite = expected.isfinite()
        assert _error(got[finite], expected[finite]) <= TOLERANCE


@pytest.mark.parametrize("target", TARGETS)
def test_quotients_read_twice_are_computed_alike(target):
    """A softmax's quotients (x * (1 / sum) per row, passes/dense/hoist.py) inlined into a
    maximum and into the pass that subtracts it: over a dimension of one, a log-softmax of
    them is x - x - log(1), exactly 0 as in torch (fuzz seed 6410)."""
    model = Lambda(lambda x: torch.log_softmax(torch.cat((x, x), 1).softmax(-1), 0)).eval()
    x = torch.randn(1, 6, 12)
    exe = _compile(model, x, target)
    with torch.no_grad():
        want = model(x)
    assert torch.equal(exe(x), want)


@pytest.mark.parametrize("target", TARGETS)
def test_softmax_divides_once_per_row(target):
    """The last pass of a softmax multiplies by each row's reciprocal, computed in a
    generic over the 6 rows: no division along a row is left."""
    model = Lambda(lambda x: x.softmax(-1)).eval()
    x = torch.randn(1, 6, 100)
    exe = _compile(model, x, target)
    divisions = re.findall(r"arith\.divf %\S+, %\S+ : vector<(\d+)xf32>", exe.ir("dense"))
    assert divisions and all(int(n) <= 6 for n in divisions)
    assert "arith.mulf" in exe.ir("dense")
    with torch.no_grad():
        assert _error(exe(x), model(x)) <= TOLERANCE
