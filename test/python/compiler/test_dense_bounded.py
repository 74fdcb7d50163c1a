"""The transform-dialect route of pattern-vectorize-dense on reductions over any dimension.

Softmax, log_softmax, mean, sum, amax and var over every dimension (and several at once)
of 4-D (NCHW) and 3-D tensors compile through `pattern_mlir.compile` and match torch; a
reduction over a non-innermost dimension once sent the vector lowering into a rewrite
loop that never ended and kept allocating, so every compile here runs under a time and
memory limit (a compile that blows it raises CompileError). The same route on a large
tensor (1x512x56x56) runs alone through `pattern-opt` in a subprocess with an address-space
limit, and every vector it leaves is checked against the planner's bounds.
"""

from __future__ import annotations

import re
import resource
import subprocess
import time

import numpy as np
import pattern_mlir
import pytest
import torch
from pattern_mlir.passes.dense.transform import MAX_ROWS, REDUCTION_VECTORS, TILE_VECTORS
from pattern_mlir.target import CPU_TARGETS, resolve_target
from torch import nn

TOLERANCE = 1e-5
# Each compile takes seconds (most of it importing from torch); the unbounded path never
# finished. Generous, so a loaded machine does not fail the test.
COMPILE_BUDGET_S = 240.0
DENSE_STAGE_BUDGET_S = 30.0
MEMORY_GB = 4.0


class Outputs(nn.Module):
    """One output per function of the input: one compile covers many ops."""

    def __init__(self, functions):
        super().__init__()
        self.functions = functions

    def forward(self, x):
        return tuple(f(x) for f in self.functions)


def _softmaxes(rank):
    return [
        f(d)
        for d in range(rank)
        for f in (
            lambda d: lambda x: torch.softmax(x, d),
            lambda d: lambda x: torch.log_softmax(x, d),
        )
    ]


def _reductions(dims_list):
    return [
        f(dims, keep)
        for dims in dims_list
        for keep in (False, True)
        for f in (
            lambda d, k: lambda x: x.mean(d, keepdim=k),
            lambda d, k: lambda x: x.sum(d, keepdim=k),
            lambda d, k: lambda x: x.amax(d, keepdim=k),
        )
    ]


def _chain(x):
    """30 reductions and softmaxes over dims 1..3, each feeding the next (kept well
    conditioned: torch in float32 and float64 agree to ~1e-7)."""
    for i in range(30):
        d = 1 + i % 3
        step = i % 5
        if step == 0:
            x = torch.softmax(x, d) * 4.0 + x * 0.5
        elif step == 1:
            x = x - x.mean(d, keepdim=True)
        elif step == 2:
            x = torch.log_softmax(x, d) * 0.25
        elif step == 3:
            x = x / (x.abs().amax(d, keepdim=True) + 1.0)
        else:
            x = x + x.sum((d, 1 + d % 3), keepdim=True) * 0.01
    return x


# Shapes: innermost sizes past one tile (70 > 64 lanes; 300 > the 256 of a reduction
# vector on host), so remainders are split off both along parallel and reduction loops.
CASES = {
    "softmax_4d": (_softmaxes(4), (2, 5, 6, 70)),
    "softmax_3d": (_softmaxes(3), (2, 5, 300)),
    "reduce_4d": (
        _reductions([(0,), (1,), (2,), (3,), (1, 2), (2, 3), (1, 3), (0, 3), (0, 1, 2, 3)]),
        (2, 6, 10, 12),
    ),
    "reduce_3d": (_reductions([(0,), (1,), (2,), (0, 1), (1, 2), (0, 2), (0, 1, 2)]), (3, 20, 300)),
    "var": (
        [
            lambda x: x.var(1),
            lambda x: x.var((2, 3), keepdim=True),
            lambda x: x.var(3, unbiased=False),
            lambda x: x.std(1, keepdim=True),
        ],
        (1, 6, 10, 12),
    ),
    "chain_30": ([_chain], (1, 6, 10, 12)),
}


def _relative_error(got, want) -> float:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-6))


@pytest.mark.parametrize("name", sorted(CASES))
def test_reductions_over_any_dim_match_torch(name):
    functions, shape = CASES[name]
    torch.manual_seed(0)
    model = Outputs(functions).eval()
    x = torch.randn(*shape)
    options = pattern_mlir.CompileOptions(
        num_threads=1, timeout_s=COMPILE_BUDGET_S, memory_limit_gb=MEMORY_GB
    )
    start = time.perf_counter()
    exe = pattern_mlir.compile(model, (x,), options=options)
    seconds = time.perf_counter() - start
    assert seconds < COMPILE_BUDGET_S, f"{name}: compile took {seconds:.0f} s"
    assert exe.stage_seconds["dense"] < DENSE_STAGE_BUDGET_S, exe.stage_seconds
    got = exe(x)
    got = got if isinstance(got, tuple) else (got,)
    with torch.no_grad():
        want = model(x)
    assert len(got) == len(want)
    for index, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, f"{name}[{index}]"
        assert _relative_error(g, w) <= TOLERANCE, f"{name}[{index}]: {_relative_error(g, w):.2e}"


# ----- the pass alone on large tensors --------------------------------------------------


def _type(shape) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + "f32>"


def _reduction_text(shape, dims, keepdim, kind) -> str:
    """A reduction as torch-mlir writes it: a fill of the neutral value, then a generic."""
    loops = [f"d{i}" for i in range(len(shape))]
    kept = [i for i in range(len(shape)) if keepdim or i not in dims]
    out_exprs = ["0" if i in dims else loops[i] for i in kept]
    iterators = ", ".join('"reduction"' if i in dims else '"parallel"' for i in range(len(shape)))
    neutral, combine = {"add": ("0.0", "arith.addf"), "max": ("0xFF800000", "arith.maximumf")}[kind]
    t_in, t_out = _type(shape), _type([1 if i in dims else shape[i] for i in kept])
    domain = ", ".join(loops)
    return f"""func.func @forward(%x: {t_in}) -> {t_out} {{
  %init = arith.constant {neutral} : f32
  %e = tensor.empty() : {t_out}
  %f = linalg.fill ins(%init : f32) outs(%e : {t_out}) -> {t_out}
  %r = linalg.generic {{indexing_maps = [affine_map<({domain}) -> ({domain})>,
                                         affine_map<({domain}) -> ({", ".join(out_exprs)})>],
                        iterator_types = [{iterators}]}} ins(%x : {t_in}) outs(%f : {t_out}) {{
  ^bb0(%in: f32, %acc: f32):
    %s = {combine} %in, %acc : f32
    linalg.yield %s : f32
  }} -> {t_out}
  return %r : {t_out}
}}"""


def _broadcast_text(shape, dim) -> str:
    """exp(x - m), m reduced over `dim` with keepdim: the middle of a softmax over `dim`."""
    loops = [f"d{i}" for i in range(len(shape))]
    m_exprs = ["0" if i == dim else loop for i, loop in enumerate(loops)]
    t, tm = _type(shape), _type([1 if i == dim else d for i, d in enumerate(shape)])
    domain = ", ".join(loops)
    identity = f"affine_map<({domain}) -> ({domain})>"
    return f"""func.func @forward(%x: {t}, %m: {tm}) -> {t} {{
  %e = tensor.empty() : {t}
  %r = linalg.generic {{indexing_maps = [{identity},
                                         affine_map<({domain}) -> ({", ".join(m_exprs)})>,
                                         {identity}],
                        iterator_types = [{", ".join(['"parallel"'] * len(shape))}]}}
         ins(%x, %m : {t}, {tm}) outs(%e : {t}) {{
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %s = arith.subf %in, %in_0 : f32
    %y = math.exp %s : f32
    linalg.yield %y : f32
  }} -> {t}
  return %r : {t}
}}"""


LARGE = (1, 512, 56, 56)
LARGE_CASES = (
    [
        _reduction_text(LARGE, dims, keep, kind)
        for dims in [(1,), (2, 3), (1, 2), (1, 3), (0, 1, 2, 3)]
        for keep in (False, True)
        for kind in ("add", "max")
    ]
    + [_broadcast_text(LARGE, dim) for dim in range(4)]
    + [
        _reduction_text((1, 4096, 3), (1,), True, "add"),  # a long reduction, 3 lanes wide
        _reduction_text((1, 3, 100000), (2,), False, "add"),  # a very long innermost one
        _reduction_text((64, 1, 64, 1), (0, 2), True, "max"),  # unit innermost dims
        _broadcast_text((1, 2000, 1), 1),
    ]
)


def _limit_memory():
    limit = int(MEMORY_GB * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _vector_elements(text: str) -> list[tuple[str, int, int]]:
    """(type, elements, rows) of every vector type in `text`."""
    found = []
    for shape in set(re.findall(r"vector<((?:\d+x)*)[a-z]", text)):
        dims = [int(d) for d in shape.split("x") if d] or [1]
        elements = int(np.prod(dims))
        found.append((f"vector<{shape}>", elements, elements // dims[-1]))
    return found


@pytest.mark.parametrize("target", CPU_TARGETS)
def test_large_reductions_stay_bounded(pattern_opt, target):
    """Every case in one pattern-opt run under a 4 GB address-space limit and a timeout;
    each vector left has at most REDUCTION_VECTORS native vectors in at most MAX_ROWS rows,
    whatever the tensor."""
    text = "\n// -----\n".join(LARGE_CASES)
    start = time.perf_counter()
    command = [pattern_opt, "-", "-split-input-file", f"--pattern-vectorize-dense=target={target}"]
    result = subprocess.run(
        command, input=text, capture_output=True, text=True, timeout=120, preexec_fn=_limit_memory
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-2000:]
    assert seconds < 60, f"pattern-vectorize-dense took {seconds:.0f} s"
    out = result.stdout
    assert out.count("func.func @forward") == len(LARGE_CASES)
    assert "vector.multi_reduction" not in out and "linalg.generic" not in out
    lanes = resolve_target(target).lanes
    for vector, elements, rows in _vector_elements(out):
        assert elements <= REDUCTION_VECTORS * lanes and rows <= MAX_ROWS, vector
    # The reduction over channels accumulates whole vectors along the image's pixels (rows
    # and columns merged into one loop, passes/dense/collapse.py), in a loop.
    first = out.split("// -----")[0]
    row = min(56 * 56, TILE_VECTORS * lanes)
    assert re.search(rf"arith\.addf %\S+, %\S+ : vector<{row}xf32>", first), first
