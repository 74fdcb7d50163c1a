"""Ops whose CPU lowering needed pattern-widen-bool-tensors, pattern-expand-math and the
math fallbacks of the 'llvm' stage: bool tensors (PReLU, Softplus, Mish, attention masks),
erf (exact GELU) and integer powers (tanh GELU, x ** 3), compiled and compared with torch.

The math expansions are also checked alone, over dense grids against Python's math module,
through the same 'math' and 'llvm' stages the compiler runs.
"""

import ctypes
import math

import numpy as np
import pattern_mlir
import pytest
import torch
from conv_cases import relative_error
from mlir import ir
from mlir.execution_engine import ExecutionEngine
from mlir.passmanager import PassManager
from mlir.runtime import get_ranked_memref_descriptor
from pattern_mlir.backend.llvm_lowering import to_llvm_pipeline
from pattern_mlir.passes import lookup
from torch import nn


class Fn(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x)


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(64, 4, batch_first=True)

    def forward(self, q):
        return self.mha(q, q, q, need_weights=False)[0]


def _sequence():
    return torch.randn(1, 8, 64)


# name: (model factory, input factory). The small ones also run on arm64-neon.
SMALL = {
    "prelu": (
        lambda: nn.Sequential(nn.Conv2d(3, 10, 3), nn.PReLU(10)),
        lambda: torch.randn(1, 3, 16, 16),
    ),
    "softplus": (nn.Softplus, _sequence),
    "mish": (nn.Mish, _sequence),
    "gelu_erf": (nn.GELU, lambda: 3 * _sequence()),
    "gelu_tanh": (lambda: nn.GELU(approximate="tanh"), lambda: 3 * _sequence()),
    "cube": (lambda: Fn(lambda x: x**3), _sequence),
    "power_2_5": (lambda: Fn(lambda x: x.abs() ** 2.5), _sequence),
    "inverse_square": (lambda: Fn(lambda x: x**-2), _sequence),
}
LARGE = {
    "multihead_attention": (SelfAttention, _sequence),
    "transformer_encoder_layer": (
        lambda: nn.TransformerEncoderLayer(64, 4, 128, batch_first=True, dropout=0.0),
        _sequence,
    ),
}
CASES = [(name, "host") for name in sorted(SMALL) + sorted(LARGE)] + [
    (name, "arm64-neon") for name in sorted(SMALL)
]


@pytest.mark.parametrize("name,target", CASES)
def test_matches_torch(name, target):
    torch.manual_seed(0)
    make_model, make_input = {**SMALL, **LARGE}[name]
    model, x = make_model().eval(), make_input()
    exe = pattern_mlir.compile(
        model, (x,), target=target, options=pattern_mlir.CompileOptions(num_threads=1)
    )
    with torch.no_grad():
        expected = model(x)
    assert relative_error(exe(x), expected) <= 1e-4


_GENERIC = """
#id = affine_map<(d0) -> (d0)>
func.func @f(%x: memref<{n}x{t}>, %n: memref<{n}x{it}>, %y: memref<{n}x{rt}>)
    attributes {{llvm.emit_c_interface}} {{
  linalg.generic {{indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}}
      ins(%x, %n : memref<{n}x{t}>, memref<{n}x{it}>) outs(%y : memref<{n}x{rt}>) {{
  ^bb0(%a: {t}, %k: {it}, %out: {rt}):
    {body}
    linalg.yield %r : {rt}
  }}
  return
}}
"""


def _run_elementwise(body: str, x: np.ndarray, k: np.ndarray, result_dtype) -> np.ndarray:
    """`body` (defining %r from %a and %k) over x and k, lowered by the compiler's 'math'
    and 'llvm' stages and run by the JIT."""
    names = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64", np.dtype(np.int32): "i32"}
    y = np.zeros(x.shape, result_dtype)
    text = _GENERIC.format(
        n=x.size, t=names[x.dtype], it=names[k.dtype], rt=names[y.dtype], body=body
    )
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        lookup("pattern-expand-math")().apply(module.operation)
        PassManager.parse(to_llvm_pipeline()).run(module.operation)
        engine = ExecutionEngine(module, opt_level=2)
        args = [ctypes.pointer(ctypes.pointer(get_ranked_memref_descriptor(a))) for a in (x, k, y)]
        engine.invoke("f", *args)
    return y


def _grid(low, high, count=4001, dtype=np.float32):
    return np.concatenate([np.linspace(low, high, count), [0.0, -0.0, 1e-8, -1e-8]]).astype(dtype)


def test_erf_polynomial_accuracy():
    x = _grid(-10, 10)
    y = _run_elementwise("%r = math.erf %a : f32", x, np.zeros(x.shape, np.int32), np.float32)
    expected = np.array([math.erf(v) for v in x.astype(np.float64)])
    assert np.all(np.abs(y - expected) <= 3e-7 * np.abs(expected) + 1e-30)
    assert math.copysign(1.0, y[-3]) == -1.0  # erf(-0) = -0


def test_erfc_polynomial_accuracy():
    x = _grid(-4, 9)
    y = _run_elementwise("%r = math.erfc %a : f32", x, np.zeros(x.shape, np.int32), np.float32)
    expected = np.array([math.erfc(v) for v in x.astype(np.float64)])
    assert np.all(np.abs(y - expected) <= 5e-6 * expected)


def test_erf_f64_uses_libm():
    x = _grid(-6, 6, dtype=np.float64)
    y = _run_elementwise("%r = math.erf %a : f64", x, np.zeros(x.shape, np.int32), np.float64)
    assert np.allclose(y, [math.erf(v) for v in x], rtol=1e-15, atol=0)


def test_constant_negative_power_of_zero():
    # IEEE: 0 ** -2 = +inf whatever the sign of 0, (-0) ** -1 = -inf.
    x = np.array([0.0, -0.0, 0.0, -0.0, 2.0, -2.0], np.float32)
    body = "%c = arith.constant {n} : i32\n    %r = math.fpowi %a, %c : f32, i32"
    k = np.zeros(x.shape, np.int32)
    square = _run_elementwise(body.format(n=-2), x, k, np.float32)
    inverse = _run_elementwise(body.format(n=-1), x, k, np.float32)
    assert square.tolist() == [np.inf, np.inf, np.inf, np.inf, 0.25, 0.25]
    assert inverse.tolist() == [np.inf, -np.inf, np.inf, -np.inf, 0.5, -0.5]


def test_variable_exponents():
    x = np.array([2.0, -2.0, 3.0, -1.5, 0.5, 7.0], np.float32)
    k = np.array([3, 3, -2, 4, 0, 1], np.int32)
    y = _run_elementwise("%r = math.fpowi %a, %k : f32, i32", x, k, np.float32)
    assert np.allclose(y, x.astype(np.float64) ** k, rtol=1e-6, atol=0)
    base = np.array([2, -3, 5, 7, 0, -1], np.int32)
    k = np.array([10, 3, 0, 2, 5, 7], np.int32)
    y = _run_elementwise("%r = math.ipowi %a, %k : i32", base, k, np.int32)
    assert y.tolist() == [int(b) ** int(e) for b, e in zip(base, k)]


def _f32_grid_positive() -> np.ndarray:
    """Positive f32 values over every binade, subnormals included, and near 1."""
    exponents = np.linspace(-149, 127.9, 6001)
    values = np.concatenate([2.0**exponents, 1 + np.linspace(-1e-3, 1e-3, 2001)])
    return values.astype(np.float32)


def test_log_polynomial_accuracy():
    x = _f32_grid_positive()
    y = _run_elementwise("%r = math.log %a : f32", x, np.zeros(x.shape, np.int32), np.float32)
    expected = np.log(x.astype(np.float64))
    assert np.all(np.abs(y - expected) <= 2e-7 * np.abs(expected) + 1e-7 * 2.0**-23), np.max(
        np.abs(y - expected) / np.maximum(np.abs(expected), 1e-30)
    )
    special = np.array([0.0, -0.0, -1.0, np.inf, np.nan, -np.inf], np.float32)
    got = _run_elementwise("%r = math.log %a : f32", special, np.zeros(6, np.int32), np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        want = np.log(special.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(got, want)


def test_log1p_polynomial_accuracy():
    x = np.concatenate([_f32_grid_positive(), -_f32_grid_positive()[_f32_grid_positive() < 1]])
    y = _run_elementwise("%r = math.log1p %a : f32", x, np.zeros(x.shape, np.int32), np.float32)
    expected = np.log1p(x.astype(np.float64))
    finite = np.isfinite(expected)
    assert np.all(np.abs(y - expected)[finite] <= 3e-7 * np.abs(expected[finite]) + 1e-45)
    special = np.array([-1.0, -2.0, np.inf, np.nan, 0.0, -0.0], np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        want = np.log1p(special.astype(np.float64)).astype(np.float32)
    got = _run_elementwise("%r = math.log1p %a : f32", special, np.zeros(6, np.int32), np.float32)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["exp", "tanh"])
def test_exp_and_tanh_accuracy(name):
    """Over [-120, 120] and the edges of exp's range (overflow near 88.72, subnormal results
    below -87.3, 0 below -104), and NaN and +-inf exactly as libm: the clamp passes NaN on
    instead of selecting it out at the end."""
    edges = [88.72, 88.7228, 88.73, -87.3, -103.9, -104.0, -110.0, 0.0, -0.0, 1e-30, -1e-30]
    x = np.concatenate([np.linspace(-120, 120, 24001), edges]).astype(np.float32)
    y = _run_elementwise(f"%r = math.{name} %a : f32", x, np.zeros(x.shape, np.int32), np.float32)
    expected = getattr(np, name)(x.astype(np.float64))
    finite = np.isfinite(expected.astype(np.float32))
    error = np.abs(y - expected)[finite]
    assert np.all(error <= 2e-7 * np.abs(expected[finite]) + 2.0**-149), np.max(error)
    assert np.array_equal(y[~finite], expected[~finite].astype(np.float32))
    special = np.array([np.nan, np.inf, -np.inf, -np.nan], np.float32)
    got = _run_elementwise(f"%r = math.{name} %a : f32", special, np.zeros(4, np.int32), np.float32)
    np.testing.assert_array_equal(got, getattr(np, name)(special))
