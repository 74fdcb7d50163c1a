"""The op families the CPU targets accept (test/python/compiler/test_torch_families.py: the
same models, one per group of families, one output per family) through
`compile(..., target="vulkan-adreno")` on the default Vulkan device, against torch within
1e-3 (relative to each output's largest magnitude).

What the Adreno profile lacks is made legal on the way: f64 statistics (LayerNorm, var_mean)
run in f32, int64 index tables as int32, i64 index arithmetic in 32 bits, erf and x ** 3 as
arithmetic, bool tensors as packed words. One family is refused instead: argmax returns an
int64 tensor that a kernel writes, and the error names Int64 and the op.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pattern_mlir
import pytest
import torch
from pattern_mlir.runtime.vulkan import VulkanUnavailableError

TOLERANCE = 1e-3
_SPEC = importlib.util.spec_from_file_location(
    "torch_families", Path(__file__).parents[1] / "compiler" / "test_torch_families.py"
)
families = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(families)
GROUPS = [g for g in families.GROUPS if g != "tensor_ops"]


def _compile(group):
    torch.manual_seed(0)
    make, inputs = families.GROUPS[group]
    model, xs = make().eval(), inputs()
    try:
        return model, xs, pattern_mlir.compile(model, xs, target="vulkan-adreno")
    except VulkanUnavailableError as error:
        pytest.skip(f"no Vulkan driver: {error}")


@pytest.mark.parametrize("group", GROUPS)
def test_family_matches_torch_on_gpu(group):
    model, xs, exe = _compile(group)
    with torch.no_grad():
        expected = model(*xs)
    got = exe(*xs)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(expected) == len(model.families)
    for family, g, e in zip(model.families, got, expected):
        error = float((g - e).abs().max() / max(float(e.abs().max()), 1e-12))
        assert error <= TOLERANCE, f"{group}/{family} on vulkan-adreno: relative error {error:.2e}"


def test_int64_results_are_refused_naming_the_capability():
    """tensor_ops holds argmax, whose int64 result a kernel stores: no Int64 on the Adreno."""
    with pytest.raises(
        pattern_mlir.CompileError, match=r"Int64 \(64-bit integers in memory: 'memref.store'"
    ):
        _compile("tensor_ops")
