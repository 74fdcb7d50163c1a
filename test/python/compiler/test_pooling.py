"""Max and average pooling through torch-mlir vs torch, around the edges of the input.

torch-mlir writes ceil_mode (and any bottom / right padding) as the high side of the
tensor.pad in front of linalg.pooling_nchw_max / _sum (-inf or 0), and the average's divisor
as a separate linalg.generic (the clipped window's size, with or without the padding). The
dense stencil drops the pad and keeps only its top / left side, so a last window that runs
past the input's bottom row or right column must read nothing there: in place reads (stride 1,
or the paired 2x2/2 path) used to read past the input and leave garbage (1e20, inf, nan, a
different value every run) in the last output row or column.

Each sweep is one model returning every pool as a tuple output (one import and compile for
the lot); it runs twice on different inputs, since what was read past the input changes
between runs. Shapes: odd and even sizes, a width that ends in a masked vector, 1, 3 and 5
channels.
"""

from __future__ import annotations

import itertools

import numpy as np
import pattern_mlir
import pytest
import torch
import torch.nn.functional as F

TOLERANCE = 1e-5

SHAPES = {
    "c3_7x9": (1, 3, 7, 9),
    "c1_33x96": (1, 1, 33, 96),
    "c5_33x95": (1, 5, 33, 95),
    "c5_8x10": (1, 5, 8, 10),
    "c5_10x10": (1, 5, 10, 10),
}


def _pool(kind: str, k: int, s: int, p: int, ceil: bool):
    if kind == "max":
        return lambda m, x: F.max_pool2d(x, k, s, p, ceil_mode=ceil)
    # avg: count_include_pad=True (torch's default); avgx: the padding is not counted.
    return lambda m, x: F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=kind == "avg")


def _sweep(shape: str, kinds, kernels, strides, pads, ceils) -> dict:
    cases = {}
    for kind, k, s, p, ceil in itertools.product(kinds, kernels, strides, pads, ceils):
        if p > k // 2:  # torch: padding at most half the kernel
            continue
        if kind == "avgx" and p == 0:
            # The same ops as avg; the model would return one value twice.
            continue
        name = f"{kind}{k}s{s}p{p}{'_ceil' if ceil else ''}_{shape}"
        cases[name] = (shape, _pool(kind, k, s, p, ceil))
    return cases


def _adaptive(kind: str, size: int):
    pool = F.adaptive_avg_pool2d if kind == "avg" else F.adaptive_max_pool2d
    return lambda m, x: pool(x, size)


KINDS = ("max", "avg", "avgx")

# Every combination on a small odd image (fewer at stride 1); on the larger ones the last
# windows of ceil_mode at strides 2 and 3, with an odd height, an odd width, a row of 6 or
# 5.9 vectors of 16 lanes, an even image, 1 or 5 channels.
CASES = {
    **_sweep("c3_7x9", KINDS, (2, 3), (2, 3), (0, 1), (False, True)),
    # Stride 1: ceil_mode changes nothing but the high pad torch-mlir adds (unused).
    **_sweep("c3_7x9", ("max",), (2, 3), (1,), (0, 1), (False, True)),
    **_sweep("c3_7x9", ("avg", "avgx"), (3,), (1,), (1,), (False, True)),
    **_sweep("c1_33x96", KINDS, (2, 3), (2,), (0, 1), (True,)),
    **_sweep("c1_33x96", ("max", "avg"), (2, 3), (3,), (0,), (True,)),
    **_sweep("c1_33x96", ("max", "avg"), (2,), (2,), (0,), (False,)),
    **_sweep("c5_33x95", KINDS, (2, 3), (2,), (0, 1), (True,)),
    **_sweep("c5_8x10", ("max", "avgx"), (2, 3), (2,), (1,), (True,)),
    **_sweep("c5_8x10", ("max", "avg"), (2,), (2, 3), (0,), (True,)),
    # Adaptive pools: exact tilings become pools, the others index math and reductions.
    **{
        f"adaptive_{kind}{o}_{shape}": (shape, _adaptive(kind, o))
        for kind in ("avg", "max")
        for shape, outs in (("c3_7x9", (1, 3)), ("c5_10x10", (1, 3, 5)))
        for o in outs
    },
    # Bottom / right padding from an explicit F.pad (zeros: data for max), read in place
    # before: stride 1 (direct) and 2x2/2 (paired) over a pad the window runs into.
    "fpad_max2s1_c3_7x9": ("c3_7x9", lambda m, x: F.max_pool2d(F.pad(x, (0, 1, 0, 1)), 2, 1)),
    "fpad_avg3s1_c3_7x9": ("c3_7x9", lambda m, x: F.avg_pool2d(F.pad(x, (0, 2, 0, 1)), 3, 1)),
    "fpad_max2s2_c5_33x95": ("c5_33x95", lambda m, x: F.max_pool2d(F.pad(x, (0, 1, 0, 1)), 2, 2)),
    # The same stencil with weights: a depthwise conv over a high-only pad.
    "fpad_depthwise2s1_c3_7x9": ("c3_7x9", lambda m, x: m.dw(F.pad(x, (0, 1, 0, 1)))),
}

# Left out: 7x9 -> 5 adaptive pools. torch-mlir fails to import the max one (tensor.cast
# incompatible); the avg one is index math and reductions, not a pooling stencil, and a
# compile failure there would take the whole sweep with it.

# The reported cases and a few from the sweep as aarch64 code under qemu.
ARM64_CASES = {
    "avg2s2_ceil_c1_33x96": ("c1_33x96", _pool("avg", 2, 2, 0, True)),
    "max2s2_ceil_c5_33x95": ("c5_33x95", _pool("max", 2, 2, 0, True)),
    "max3s2p1_ceil_c3_7x9": ("c3_7x9", _pool("max", 3, 2, 1, True)),
    "avgx3s2p1_ceil_c3_7x9": ("c3_7x9", _pool("avgx", 3, 2, 1, True)),
    "avg2s3_ceil_c3_7x9": ("c3_7x9", _pool("avg", 2, 3, 0, True)),
    "fpad_max2s1_c3_7x9": CASES["fpad_max2s1_c3_7x9"],
}


class _Pools(torch.nn.Module):
    """Every case's output, as a tuple; one input per shape used."""

    def __init__(self, cases: dict) -> None:
        super().__init__()
        self.fns = list(cases.values())
        self.shapes = sorted({shape for shape, _ in self.fns})
        torch.manual_seed(0)
        self.dw = torch.nn.Conv2d(3, 3, 2, groups=3)

    def forward(self, *xs):
        inputs = dict(zip(self.shapes, xs))
        return tuple(fn(self, inputs[shape]) for shape, fn in self.fns)


def _relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    if got.shape != want.shape:
        return float("inf")
    got, want = got.detach().numpy(), want.detach().numpy()
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-12))  # nan stays nan


def _errors(cases: dict, target: str) -> tuple[dict, pattern_mlir.Executable]:
    """{case: [relative error of run 1, run 2]} of one compiled model of all `cases`."""
    model = _Pools(cases).eval()
    rng = np.random.default_rng(0)

    def inputs():
        return tuple(
            torch.from_numpy(rng.standard_normal(SHAPES[s]).astype(np.float32))
            for s in model.shapes
        )

    options = pattern_mlir.CompileOptions(num_threads=1)
    exe = pattern_mlir.compile(model, inputs(), target=target, options=options)
    errors = {name: [] for name in cases}
    for _ in range(2):
        xs = inputs()
        with torch.no_grad():
            want = model(*xs)
        got = exe(*xs)
        for name, g, w in zip(cases, got, want):
            errors[name].append(_relative_error(g, w))
    return errors, exe


@pytest.fixture(scope="module")
def host_sweep():
    return _errors(CASES, "host")


@pytest.fixture(scope="module")
def arm64_sweep():
    return _errors(ARM64_CASES, "arm64-neon")[0]


@pytest.mark.parametrize("case", list(CASES))
def test_pooling_matches_torch(host_sweep, case):
    errors = host_sweep[0][case]
    assert all(e <= TOLERANCE for e in errors), errors


def test_pools_go_through_the_dense_stencil(host_sweep):
    """The sweep exercises the generated stencils, not a fallback."""
    dense = host_sweep[1].ir("dense")
    assert "linalg.pooling" not in dense and "linalg.depthwise" not in dense


@pytest.mark.parametrize("case", list(ARM64_CASES))
def test_pooling_arm64_matches_torch(arm64_sweep, case):
    errors = arm64_sweep[case]
    assert all(e <= TOLERANCE for e in errors), errors


# ----- the paired 2x2/2 path over a high-only pad, as linalg text ------------------------------


def _paired_text(c: int, h: int, w: int) -> str:
    """max (-inf pad), max over a zero pad (data) and sum of 2x2/2 windows over the input padded
    by one row and column at the bottom and right (ceil_mode on an odd size)."""
    oh, ow = -(-h // 2), -(-w // 2)
    x_t, p_t, o_t = (
        f"tensor<1x{c}x{h}x{w}xf32>",
        f"tensor<1x{c}x{h + 1}x{w + 1}xf32>",
        f"tensor<1x{c}x{oh}x{ow}xf32>",
    )
    body = []
    pools = (
        ("max", "0xFF800000", "0xFF800000"),
        ("max", "0.0", "0xFF800000"),
        ("sum", "0.0", "0.0"),
    )
    for i, (kind, pad, init) in enumerate(pools):
        body.append(f"""%pv{i} = arith.constant {pad} : f32
  %iv{i} = arith.constant {init} : f32
  %xp{i} = tensor.pad %x low[0, 0, 0, 0] high[0, 0, 1, 1] {{
  ^bb0(%a: index, %b: index, %d: index, %e: index):
    tensor.yield %pv{i} : f32
  }} : {x_t} to {p_t}
  %f{i} = linalg.fill ins(%iv{i} : f32) outs(%out : {o_t}) -> {o_t}
  %r{i} = linalg.pooling_nchw_{kind}
       {{dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}}
       ins(%xp{i}, %win : {p_t}, tensor<2x2xf32>) outs(%f{i} : {o_t}) -> {o_t}""")
    lines = "\n  ".join(body)
    return f"""func.func @forward(%x: {x_t}) -> ({o_t}, {o_t}, {o_t}) {{
  %out = tensor.empty() : {o_t}
  %win = tensor.empty() : tensor<2x2xf32>
  {lines}
  return %r0, %r1, %r2 : {o_t}, {o_t}, {o_t}
}}"""


def test_paired_pooling_over_a_high_pad_reads_in_place():
    c, h, w = 2, 7, 37  # last row and column of windows half outside; masked last vector
    options = pattern_mlir.CompileOptions(num_threads=1)
    exe = pattern_mlir.compile_str(_paired_text(c, h, w), "host", options)
    assert "%stage" not in exe.ir("dense")
    rng = np.random.default_rng(1)
    for _ in range(2):
        x = torch.from_numpy(rng.standard_normal((1, c, h, w)).astype(np.float32))
        zero_padded = F.pad(x, (0, 1, 0, 1))
        wants = (
            F.max_pool2d(x, 2, 2, ceil_mode=True),
            F.max_pool2d(zero_padded, 2, 2),
            F.avg_pool2d(zero_padded, 2, 2) * 4,
        )
        for got, want in zip(exe(x), wants):
            assert _relative_error(got, want) <= TOLERANCE
