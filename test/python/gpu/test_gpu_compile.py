"""Models through `pattern_mlir.compile(..., target="vulkan-adreno")` against torch on the
default Vulkan device (lavapipe here): the whole pipeline, from the torch import to SPIR-V."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pattern_mlir
import pytest
import torch
import torch.nn.functional as F
from pattern_mlir import prune
from pattern_mlir.compiler.stages import gpu_stages
from pattern_mlir.runtime.vulkan import VulkanUnavailableError
from torch import nn


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got - want).abs().max() / want.abs().max().clamp_min(1e-6))


def compile_for_gpu(model, *inputs, options=None):
    try:
        return pattern_mlir.compile(model, inputs, target="vulkan-adreno", options=options)
    except VulkanUnavailableError as error:
        pytest.skip(f"no Vulkan driver: {error}")


class EncoderDecoder(nn.Module):
    """3x3 convs, a stride-2 encoder, nearest upsampling, a skip joined by concat, sigmoid."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(3, 16, 3, padding=1)
        self.enc2 = nn.Conv2d(16, 32, 3, padding=1, stride=2)
        self.dec = nn.Conv2d(32, 16, 3, padding=1)
        self.out = nn.Conv2d(32, 2, 3, padding=1)

    def forward(self, x):
        skip = F.relu(self.enc1(x))
        deep = F.relu(self.dec(F.relu(self.enc2(skip))))
        up = F.interpolate(deep, scale_factor=2, mode="nearest")
        return torch.sigmoid(self.out(torch.cat([skip, up], dim=1)))


def test_encoder_decoder_matches_torch():
    """Nearest upsampling computes its source index in i64 (torch-mlir's lowering); the
    Adreno profile has no Int64, so the kernel must do it in 32 bits."""
    torch.manual_seed(0)
    model = EncoderDecoder().eval()
    prune.project(model, num_patterns=4, connectivity=2.0)
    x = torch.randn(1, 3, 16, 20)
    exe = compile_for_gpu(model, x)
    assert relative_error(exe(x), model(x).detach()) <= 1e-3
    assert exe.ir("packed").count("pattern.packed_conv2d ") >= 2


I64_TEXT = """
#id = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> (0)>
func.func @forward(%x: tensor<8xf32>) -> tensor<8xf32> {
  %zero = arith.constant 0 : i64
  %e = tensor.empty() : tensor<1xi64>
  %acc = linalg.fill ins(%zero : i64) outs(%e : tensor<1xi64>) -> tensor<1xi64>
  %sum = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction"]}
      ins(%x : tensor<8xf32>) outs(%acc : tensor<1xi64>) {
  ^bb0(%in: f32, %out: i64):
    %i = arith.fptosi %in : f32 to i64
    %r = arith.addi %out, %i : i64
    linalg.yield %r : i64
  } -> tensor<1xi64>
  %f = tensor.empty() : tensor<8xf32>
  %y = linalg.generic {indexing_maps = [#all, #id, #id], iterator_types = ["parallel"]}
      ins(%sum, %x : tensor<1xi64>, tensor<8xf32>) outs(%f : tensor<8xf32>) {
  ^bb0(%s: i64, %in: f32, %out: f32):
    %c = arith.sitofp %s : i64 to f32
    %r = arith.addf %in, %c : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %y : tensor<8xf32>
}
"""


def _pattern_opt(command: str) -> subprocess.CompletedProcess:
    """Runs a reproducer command with this checkout's pattern-opt."""
    tool = Path(sys.executable).parent / "pattern-opt"
    argv = shlex.split(command)
    assert argv[0] == "pattern-opt"
    return subprocess.run(
        [str(tool), *argv[1:]], capture_output=True, text=True, timeout=300, check=False
    )


def test_gpu_stages_are_snapshotted_and_replayable(tmp_path):
    """The GPU lowering runs as named stages after the shared front end; each stage's IR is
    kept, and a stage replays with pattern-opt from the previous one's saved IR."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1)
    ).eval()
    prune.project(model, num_patterns=4, connectivity=2.0)
    x = torch.randn(1, 4, 8, 8)
    exe = compile_for_gpu(model, x, options=pattern_mlir.CompileOptions(save_temps=str(tmp_path)))
    assert relative_error(exe(x), model(x).detach()) <= 1e-3
    names = exe.stage_names
    assert names[: names.index("packed") + 1][-2:] == ["reordered", "packed"]
    assert names[-4:] == ["narrowed", "checked", "spirv", "validated"]
    assert "@pattern_conv0::@pattern_conv0 blocks in" in exe.ir("kernels")
    assert "spirv.module" in exe.ir("spirv")
    assert [k.kind for k in exe.program.kernels].count("pattern") == 2
    stage = next(s for s in gpu_stages(True) if s.name == "kernels")
    replayed = _pattern_opt(stage.command(str(tmp_path / "convs.mlir")))
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.count('pattern.kernel_kind = "pattern"') == 2


def test_int64_tensor_is_refused_with_reproducer(tmp_path):
    """A kernel that would need Int64 (it writes an int64 tensor: a sum of truncated floats) is
    refused at compile time: a CompileError naming the stage, the capability and the op,
    with a pattern-opt command that reproduces it."""
    options = pattern_mlir.CompileOptions(save_temps=str(tmp_path))
    with pytest.raises(pattern_mlir.CompileError) as info:
        pattern_mlir.compile_str(I64_TEXT, "vulkan-adreno", options)
    error = info.value
    assert error.stage == "narrowed"
    assert (
        "Int64" in error.message
        and "memref<1xi64>" in error.message
        and "adreno-640" in error.message
    )
    assert "--pattern-gpu-narrow-ints" in error.command
    replayed = _pattern_opt(error.command)
    assert replayed.returncode != 0 and "Int64" in replayed.stderr


def test_reductions_over_channels_run_in_parallel():
    """softmax and a sum over dim 1 of NCHW: the reduction comes before the spatial dimensions,
    which stage 'parallel' moves first, so the grid covers them (at this size the loop nest run
    by one invocation gave wrong sums on lavapipe)."""

    class OverChannels(nn.Module):
        def forward(self, x):
            return torch.softmax(x, 1), x.sum(1)

    torch.manual_seed(0)
    model, x = OverChannels(), torch.randn(1, 64, 56, 56)
    exe = compile_for_gpu(model, x)
    for got, want in zip(exe(x), model(x)):
        assert relative_error(got, want) <= 1e-3
    assert 'iterator_types = ["parallel", "parallel", "parallel", "reduction"]' in exe.ir(
        "parallel"
    )
