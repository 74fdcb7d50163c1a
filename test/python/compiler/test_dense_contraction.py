"""Matmuls of runtime operands (passes/dense/contraction.py) through the whole CPU pipeline vs torch.

Linalg text for the forms the planner reads (linalg.matmul of two activations,
linalg.batch_matmul, transposed operands through indexing_maps, operands reached through
expand/transpose/slice chains, a fill or a tensor to accumulate into, fused consumers), with
tails in every dimension; then attention as torch-mlir imports it (bmm, SDPA,
nn.MultiheadAttention, nn.TransformerEncoderLayer), on the host and on arm64 under qemu.
"""

from __future__ import annotations

import numpy as np
import pattern_mlir
import pytest
import torch
import torch.nn.functional as F
from torch import nn

TOLERANCE = 1e-4

_BMM = "affine_map<(d0, d1, d2, d3) -> ({})>"
_MM = "affine_map<(d0, d1, d2) -> ({})>"


def _error(got, want) -> float:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-12))


def _t(shape) -> str:
    return f"tensor<{'x'.join(str(d) for d in shape)}xf32>"


def contraction_case(
    batch, m, k, n, transpose_a=False, transpose_b=False, init="zero", consumer="", seed=0
):
    """A [batch x] m x k by k x n product; `init` zero | const | load; `consumer` '' | relu | residual."""
    rng = np.random.default_rng(seed)
    lead = (batch,) if batch else ()
    a_shape = lead + ((k, m) if transpose_a else (m, k))
    b_shape = lead + ((n, k) if transpose_b else (k, n))
    out_shape = lead + (m, n)
    a = rng.standard_normal(a_shape).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    c = rng.standard_normal(out_shape).astype(np.float32)
    if batch:
        amap = "d0, d3, d1" if transpose_a else "d0, d1, d3"
        bmap = "d0, d2, d3" if transpose_b else "d0, d3, d2"
        maps = [_BMM.format(x) for x in (amap, bmap, "d0, d1, d2")]
        op = "linalg.batch_matmul"
    else:
        amap = "d2, d0" if transpose_a else "d0, d2"
        bmap = "d1, d2" if transpose_b else "d2, d1"
        maps = [_MM.format(x) for x in (amap, bmap, "d0, d1")]
        op = "linalg.matmul"
    ot = _t(out_shape)
    args = [f"%a: {_t(a_shape)}", f"%b: {_t(b_shape)}"]
    inputs = [a, b]
    if init == "load" or consumer == "residual":
        args.append(f"%c: {ot}")
        inputs.append(c)
    init_line = {
        "zero": f"%cst = arith.constant 0.0 : f32\n  %f = linalg.fill ins(%cst : f32) outs(%e : {ot}) -> {ot}",
        "const": f"%cst = arith.constant 0.5 : f32\n  %f = linalg.fill ins(%cst : f32) outs(%e : {ot}) -> {ot}",
        "load": "%f = tensor.empty() : tensor<0xf32>",
    }[init]
    outs = "%c" if init == "load" else "%f"
    rank = len(out_shape)
    ident = "affine_map<({0}) -> ({0})>".format(", ".join(f"d{i}" for i in range(rank)))
    par = ", ".join(['"parallel"'] * rank)
    tail, result = "", "%r"
    if consumer == "relu":
        tail = f"""%z = arith.constant 0.0 : f32
  %y = linalg.generic {{indexing_maps = [{ident}, {ident}], iterator_types = [{par}]}} ins(%r : {ot}) outs(%e : {ot}) {{
  ^bb0(%in: f32, %out: f32):
    %s = arith.maximumf %in, %z : f32
    linalg.yield %s : f32
  }} -> {ot}"""
        result = "%y"
    elif consumer == "residual":
        tail = f"""%y = linalg.generic {{indexing_maps = [{ident}, {ident}, {ident}], iterator_types = [{par}]}} ins(%r, %c : {ot}, {ot}) outs(%e : {ot}) {{
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %s = arith.addf %in, %in_1 : f32
    linalg.yield %s : f32
  }} -> {ot}"""
        result = "%y"
    text = f"""func.func @forward({", ".join(args)}) -> {ot} {{
  %e = tensor.empty() : {ot}
  {init_line}
  %r = {op} indexing_maps = [{", ".join(maps)}] ins(%a, %b : {_t(a_shape)}, {_t(b_shape)}) outs({outs} : {ot}) -> {ot}
  {tail}
  return {result} : {ot}
}}"""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if transpose_a:
        a64 = np.swapaxes(a64, -1, -2)
    if transpose_b:
        b64 = np.swapaxes(b64, -1, -2)
    want = a64 @ b64
    if init == "const":
        want = want + 0.5
    if init == "load":
        want = want + c
    if consumer == "relu":
        want = np.maximum(want, 0)
    if consumer == "residual":
        want = want + c
    return text, inputs, want


def _run(text, inputs, want, target="host", threads=1):
    exe = pattern_mlir.compile_str(text, target, pattern_mlir.CompileOptions(num_threads=threads))
    dense = exe.ir("dense")
    forward = dense[dense.index("func.func @forward") :]
    forward = forward[: forward.index("\n  }\n")]
    assert (
        "linalg.matmul" not in forward and "linalg.batch_matmul" not in forward
    )  # a kernel took it
    assert _error(exe(*inputs).numpy(), want) <= TOLERANCE
    return exe


# (batch, m, k, n): tails in every dimension for 16 and 4 lanes and the 6-row register block.
SHAPES = [
    (0, 13, 7, 37),
    (0, 1, 5, 17),
    (0, 29, 33, 70),
    (3, 13, 7, 37),
    (2, 5, 9, 20),
    (4, 7, 64, 197),
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "b{}m{}k{}n{}".format(*s))
def test_runtime_matmul_matches(shape):
    _run(*contraction_case(*shape))


@pytest.mark.parametrize(
    "transpose_a,transpose_b",
    [(False, True), (True, False), (True, True)],
    ids=["bt", "at", "at_bt"],
)
@pytest.mark.parametrize("batch", [0, 3])
def test_transposed_operands_match(batch, transpose_a, transpose_b):
    _run(*contraction_case(batch, 11, 9, 21, transpose_a, transpose_b))


@pytest.mark.parametrize(
    "init,consumer", [("const", ""), ("load", ""), ("zero", "relu"), ("zero", "residual")]
)
def test_init_and_fused_consumers(init, consumer):
    exe = _run(*contraction_case(2, 9, 6, 19, init=init, consumer=consumer))
    if consumer:
        assert "linalg.generic" not in exe.ir("dense")  # folded into the kernel's stores


@pytest.mark.parametrize(
    "threads,batch", [(2, 4), (2, 3), (3, 1)], ids=["heads_shared", "heads_split", "single"]
)
def test_threads_match(threads, batch):
    _run(*contraction_case(batch, 23, 10, 45), threads=threads)


ARM64 = [(0, 13, 7, 37, False, False), (3, 13, 7, 37, False, True), (2, 5, 9, 20, True, False)]


@pytest.mark.parametrize("case", ARM64, ids=lambda c: "b{}m{}k{}n{}_at{:d}_bt{:d}".format(*c))
def test_arm64_matches(case):
    _run(*contraction_case(*case), target="arm64-neon")


def test_heads_are_read_where_the_projection_wrote_them():
    """q and v sliced out of one [t, 3 * h * d] projection, heads moved in front of tokens:
    (q @ w) @ v reads the projection in place, no transpose or slice is left."""
    t, h, d = 11, 3, 5
    rng = np.random.default_rng(1)
    x = rng.standard_normal((t, 3 * h * d)).astype(np.float32)
    w = rng.standard_normal((h, d, t)).astype(np.float32)
    qkv = f"tensor<{t}x{3 * h * d}xf32>"
    heads = f"tensor<{h}x{t}x{d}xf32>"
    split = f"tensor<{t}x3x{h}x{d}xf32>"
    text = f"""func.func @forward(%x: {qkv}, %w: tensor<{h}x{d}x{t}xf32>) -> {heads} {{
  %e3 = tensor.expand_shape %x [[0], [1, 2, 3]] output_shape [{t}, 3, {h}, {d}] : {qkv} into {split}
  %q0 = tensor.extract_slice %e3[0, 0, 0, 0] [{t}, 1, {h}, {d}] [1, 1, 1, 1] : {split} to tensor<{t}x{h}x{d}xf32>
  %v0 = tensor.extract_slice %e3[0, 2, 0, 0] [{t}, 1, {h}, {d}] [1, 1, 1, 1] : {split} to tensor<{t}x{h}x{d}xf32>
  %eh = tensor.empty() : {heads}
  %q = linalg.transpose ins(%q0 : tensor<{t}x{h}x{d}xf32>) outs(%eh : {heads}) permutation = [1, 0, 2]
  %v = linalg.transpose ins(%v0 : tensor<{t}x{h}x{d}xf32>) outs(%eh : {heads}) permutation = [1, 0, 2]
  %cst = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<{h}x{t}x{t}xf32>
  %fs = linalg.fill ins(%cst : f32) outs(%es : tensor<{h}x{t}x{t}xf32>) -> tensor<{h}x{t}x{t}xf32>
  %s = linalg.batch_matmul ins(%q, %w : {heads}, tensor<{h}x{d}x{t}xf32>) outs(%fs : tensor<{h}x{t}x{t}xf32>) -> tensor<{h}x{t}x{t}xf32>
  %fo = linalg.fill ins(%cst : f32) outs(%eh : {heads}) -> {heads}
  %o = linalg.batch_matmul ins(%s, %v : tensor<{h}x{t}x{t}xf32>, {heads}) outs(%fo : {heads}) -> {heads}
  return %o : {heads}
}}"""
    split64 = x.astype(np.float64).reshape(t, 3, h, d).transpose(1, 2, 0, 3)  # [3][h][t][d]
    want = (split64[0] @ w) @ split64[2]
    exe = _run(text, [x, w], want)
    assert "linalg.transpose" not in exe.ir("dense") and "extract_slice" not in exe.ir("dense")


@pytest.mark.parametrize("swapped", [False, True], ids=["a_first", "b_first"])
def test_generic_contraction_matches(swapped):
    """A batched matmul written as linalg.generic (k^T as the second factor); with the factors
    swapped the planner swaps them back, since it vectorises the output's last dimension."""
    bt, m, k, n = 2, 9, 6, 19
    rng = np.random.default_rng(5)
    a = rng.standard_normal((bt, m, k)).astype(np.float32)
    b = rng.standard_normal((bt, n, k)).astype(np.float32)
    maps = [_BMM.format("d0, d1, d3"), _BMM.format("d0, d2, d3")]
    ins, types = ["%a", "%b"], [_t(a.shape), _t(b.shape)]
    if swapped:
        maps, ins, types = maps[::-1], ins[::-1], types[::-1]
    ot = _t((bt, m, n))
    text = f"""func.func @forward(%a: {_t(a.shape)}, %b: {_t(b.shape)}) -> {ot} {{
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : {ot}
  %f = linalg.fill ins(%cst : f32) outs(%e : {ot}) -> {ot}
  %r = linalg.generic {{indexing_maps = [{maps[0]}, {maps[1]}, {_BMM.format("d0, d1, d2")}],
                        iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
       ins({ins[0]}, {ins[1]} : {types[0]}, {types[1]}) outs(%f : {ot}) {{
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }} -> {ot}
  return %r : {ot}
}}"""
    exe = _run(text, [a, b], a.astype(np.float64) @ b.astype(np.float64).transpose(0, 2, 1))
    assert "func.func private @dense_0(" in exe.ir("dense")


# ----- attention as torch-mlir imports it ----------------------------------------------------


class Attention(nn.Module):
    """bmm, SDPA, MultiheadAttention and a TransformerEncoderLayer at odd sizes (13 tokens,
    width 24, 3 heads of 8): one output each."""

    families = ["bmm", "bmm_transposed", "sdpa", "multihead_attention", "transformer_encoder_layer"]

    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(24, 3, batch_first=True)
        self.layer = nn.TransformerEncoderLayer(24, 3, 40, dropout=0.0, batch_first=True)

    def forward(self, t, u):
        heads = u.reshape(1, 13, 3, 8).transpose(1, 2)
        return (
            torch.bmm(t, u.transpose(1, 2)),
            torch.bmm(t.transpose(1, 2), u),
            F.scaled_dot_product_attention(heads, heads, heads),
            self.mha(t, u, u, need_weights=False)[0],
            self.layer(t),
        )


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
def test_attention_matches_torch(target):
    torch.manual_seed(0)
    model = Attention().eval()
    xs = (torch.randn(1, 13, 24), torch.randn(1, 13, 24))
    exe = pattern_mlir.compile(
        model, xs, target=target, options=pattern_mlir.CompileOptions(num_threads=1)
    )
    dense = exe.ir("dense")
    forward = dense[dense.index("func.func @forward") :]
    assert "linalg.batch_matmul" not in forward[: forward.index("\n  }\n")]
    with torch.no_grad():
        expected = model(*xs)
    got = exe(*xs)
    for family, g, e in zip(model.families, got, expected):
        error = float((g - e).abs().max() / e.abs().max())
        assert error <= TOLERANCE, f"{family} on {target}: relative error {error:.2e}"
