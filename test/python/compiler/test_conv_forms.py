"""Convs torch-mlir imports in shapes our kernels did not read become ordinary convs.

nn.ConvTranspose2d is imported as a conv over the zero-spread input whose kernel is the
weight flipped and transposed by a gather; folded at compile time (stage `folded`), the conv
has a constant kernel, so the pattern passes see it (a pruned transposed conv runs as a
pattern conv) and nothing rebuilds the kernel on every call. A dense one of stride s runs as
s*s stride-1 convs of the input, one per output phase, instead of a conv over the canvas. A grouped conv becomes one conv
per group (stage `groups`), so each group runs as a dense GEMM or, pruned, a pattern conv.
"""

import pattern_mlir
import pytest
import torch
from conv_cases import relative_error
from torch import nn


def prune_patterns(weight: torch.Tensor) -> None:
    """Keeps 4 taps (one of 4 patterns, centre kept) of every 3x3 kernel of `weight`."""
    masks = torch.zeros(4, 3, 3, dtype=torch.bool)
    for p, taps in enumerate([(0, 4, 5, 7), (1, 3, 4, 8), (2, 4, 6, 7), (0, 1, 4, 5)]):
        masks[p].view(-1)[list(taps)] = True
    chosen = torch.randint(0, 4, weight.shape[:2])
    with torch.no_grad():
        weight.mul_(masks[chosen].float())


def compile_checked(model: nn.Module, x: torch.Tensor, target: str = "host"):
    """`model` compiled for `target`, its output on `x` checked against torch's."""
    exe = pattern_mlir.compile(model, x, target=target)
    with torch.no_grad():
        assert relative_error(exe(x), model(x)) <= 1e-4
    return exe


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
@pytest.mark.parametrize(
    "kernel, stride, padding, output_padding", [(3, 2, 1, 1), (4, 2, 1, 0), (3, 1, 1, 0)]
)
def test_transposed_conv_kernel_is_folded(target, kernel, stride, padding, output_padding):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(4, 8, 3, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(8, 6, kernel, stride, padding, output_padding),
    ).eval()
    x = torch.randn(1, 4, 7, 7)
    exe = compile_checked(model, x, target)
    assert "linalg.generic" in exe.ir("linalg") and "tensor.extract" in exe.ir("linalg")
    assert "tensor.extract" not in exe.ir("folded")
    assert "not a compile-time constant" not in exe.ir("pattern")


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
@pytest.mark.parametrize(
    "kernel, stride, padding, output_padding, bias, relu, phased",
    [
        (3, 2, 1, 1, True, True, True),  # the usual decoder upsampling, ReLU fused into each phase
        (3, 3, 0, 0, False, False, True),  # 9 phases, 1 or 2 taps per axis
        (5, 2, 2, 1, True, False, True),
        (2, 2, 0, 0, True, True, True),  # one tap per phase: no overlap between windows
        (3, 2, 2, 0, True, False, False),  # padding = kernel - 1: a phase would read before x
    ],
)
def test_strided_transposed_conv_runs_one_conv_per_phase(
    target, kernel, stride, padding, output_padding, bias, relu, phased
):
    """Stride s: s*s stride-1 convs of the input with sub-kernels (passes/dense/conv_transpose.py),
    not one conv over the zero-spread canvas; a phase that would start before the input
    keeps the canvas conv."""
    torch.manual_seed(4)
    layers = [nn.ConvTranspose2d(7, 5, kernel, stride, padding, output_padding, bias=bias)]
    model = nn.Sequential(*layers, *([nn.ReLU()] if relu else [])).eval()
    x = torch.randn(1, 7, 6, 9)
    exe = compile_checked(model, x, target)
    dense = exe.ir("dense")
    assert ("_p0_0_entry" in dense) == phased
    if phased:
        assert dense.count("_entry(") == 2 * (
            1 + stride * stride
        )  # entry and phases: defined, called
        assert "tensor.insert_slice" not in dense  # the canvas is never built


def test_pruned_transposed_conv_runs_as_a_pattern_conv():
    """Pattern-pruned in its own layout (in, out, kh, kw); flipped, its kernels still follow
    the flipped patterns, so the folded conv is raised to a pattern conv."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.ConvTranspose2d(16, 16, 3, stride=1, padding=1)).eval()
    prune_patterns(model[0].weight)
    x = torch.randn(1, 16, 10, 10)
    exe = compile_checked(model, x)
    assert exe.ir("pattern").count("pattern.conv2d ") == 1


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
@pytest.mark.parametrize("groups, stride, dilation", [(2, 1, 1), (4, 2, 1), (3, 1, 2)])
def test_grouped_conv_runs_one_conv_per_group(target, groups, stride, dilation):
    torch.manual_seed(2)
    model = nn.Sequential(
        nn.Conv2d(12, 24, 3, stride, dilation, dilation=dilation, groups=groups), nn.ReLU()
    ).eval()
    x = torch.randn(1, 12, 11, 11)
    exe = compile_checked(model, x, target)
    assert "conv_2d_ngchw_gfchw" in exe.ir("linalg")
    assert "conv_2d_ngchw_gfchw" not in exe.ir("groups")
    assert exe.ir("groups").count("linalg.conv_2d_nchw_fchw") == groups


def test_pruned_grouped_conv_runs_as_pattern_convs():
    """ResNeXt-style: each group of a pattern-pruned grouped 3x3 conv is a pattern conv."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, groups=2)).eval()
    prune_patterns(model[0].weight)
    x = torch.randn(1, 16, 12, 12)
    exe = compile_checked(model, x)
    assert exe.ir("pattern").count("pattern.conv2d ") == 2
