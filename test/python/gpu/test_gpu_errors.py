"""Bad input gets an error that names the problem.

* an op the GPU path cannot lower -> UnsupportedOpError naming the op;
* a kernel needing a capability the Adreno 640 lacks (an f64 or int64 buffer) ->
  MissingCapabilityError naming the capability, the kernel and the op; a binary built for a richer profile fails
  ``check_profile(ADRENO_640)`` naming the capability;
* a machine without a Vulkan driver -> VulkanUnavailableError (not a crash);
* inputs of the wrong shape or count -> GpuLoweringError.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from pattern_mlir.backend.spirv_tools import (
    ADRENO_640,
    SPIRV_PROFILES,
    SpirvProfileError,
    check_profile,
)
from pattern_mlir.gpu import (
    GpuLoweringError,
    MissingCapabilityError,
    UnsupportedOpError,
    compile_for_vulkan,
    compile_to_spirv,
)

ELEMENTWISE = """
#id = affine_map<(d0) -> (d0)>
func.func @main(%x: tensor<8xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    BODY
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %y : tensor<8xf32>
}
"""
F64_BODY = """%d = arith.extf %in : f32 to f64
    %s = arith.mulf %d, %d : f64
    %r = arith.truncf %s : f64 to f32"""


def test_unsupported_op_is_named():
    text = """
    func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
      %c = complex.constant [1.0 : f32, 2.0 : f32] : complex<f32>
      %re = complex.re %c : complex<f32>
      return %x : tensor<4xf32>
    }"""
    with pytest.raises(UnsupportedOpError, match="complex.constant") as info:
        compile_to_spirv(text)
    assert info.value.op_name == "complex.constant"


def test_unpacked_pattern_conv_is_named():
    text = """
    func.func @main(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
      %w = arith.constant dense<1.0> : tensor<1x4xf32>
      %y = pattern.conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5]]> assignment [0]
             strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
             : tensor<1x1x4x4xf32>, tensor<1x4xf32> -> tensor<1x1x4x4xf32>
      return %y : tensor<1x1x4x4xf32>
    }"""
    with pytest.raises(UnsupportedOpError, match="pattern.conv2d.*pack"):
        compile_to_spirv(text)


def test_f64_arithmetic_is_demoted():
    """Without Float64, f64 arithmetic inside a model runs in f32 (as mobile compilers do)."""
    program = compile_to_spirv(ELEMENTWISE.replace("BODY", F64_BODY))
    assert program.binaries


def test_f64_buffer_names_missing_capability():
    """An f64 tensor the caller hands over cannot be demoted: refused, naming Float64."""
    text = (
        ELEMENTWISE.replace("tensor<8xf32>", "tensor<8xf64>")
        .replace("BODY", "%r = arith.addf %in, %in : f64")
        .replace("%out: f32", "%out: f64")
        .replace("%in: f32", "%in: f64")
        .replace("linalg.yield %r : f32", "linalg.yield %r : f64")
    )
    with pytest.raises(MissingCapabilityError, match="Float64") as info:
        compile_to_spirv(text)
    assert info.value.capability == "Float64"
    assert info.value.kernel.startswith("k0_generic")
    assert "adreno-640" in str(info.value)


def test_binary_for_richer_profile_fails_the_adreno_check(monkeypatch):
    richer = dataclasses.replace(
        ADRENO_640, name="with-f64", capabilities=ADRENO_640.capabilities | {"Float64"}
    )
    monkeypatch.setitem(SPIRV_PROFILES, richer.name, richer)  # the stages name their profile
    program = compile_to_spirv(ELEMENTWISE.replace("BODY", F64_BODY), profile=richer)
    (binary,) = program.binaries.values()
    with pytest.raises(SpirvProfileError, match="capability Float64 not in the profile"):
        check_profile(binary, ADRENO_640)


def test_no_vulkan_driver_gives_unavailable_error(tmp_path):
    script = textwrap.dedent(
        f"""
        from pattern_mlir.gpu import compile_for_vulkan
        from pattern_mlir.runtime.vulkan import VulkanUnavailableError
        text = {ELEMENTWISE.replace("BODY", "%r = arith.addf %in, %in : f32")!r}
        try:
            compile_for_vulkan(text)
        except VulkanUnavailableError as exc:
            print("unavailable:", exc)
        """
    )
    env = dict(os.environ, VK_ICD_FILENAMES=str(tmp_path / "none.json"))
    env["VK_DRIVER_FILES"] = env["VK_ICD_FILENAMES"]
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "unavailable:" in proc.stdout


def test_wrong_inputs_are_rejected(device):
    text = ELEMENTWISE.replace("BODY", "%r = arith.addf %in, %in : f32")
    with compile_for_vulkan(text, device=device) as exe:
        np.testing.assert_array_equal(exe(np.arange(8, dtype=np.float32))[0], 2 * np.arange(8))
        with pytest.raises(GpuLoweringError, match="shape"):
            exe(np.zeros(4, np.float32))
        with pytest.raises(GpuLoweringError, match="takes 1 inputs"):
            exe()


def test_i64_buffer_names_missing_int64():
    """Index arithmetic in i64 is narrowed to 32 bits, but an int64 tensor in memory cannot
    be: the kernel is refused, naming the capability and the op."""
    text = """
    #id = affine_map<(d0) -> (d0)>
    func.func @main(%x: tensor<8xi64>) -> tensor<8xi64> {
      %e = tensor.empty() : tensor<8xi64>
      %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
          ins(%x : tensor<8xi64>) outs(%e : tensor<8xi64>) {
      ^bb0(%in: i64, %out: i64):
        %r = arith.addi %in, %in : i64
        linalg.yield %r : i64
      } -> tensor<8xi64>
      return %y : tensor<8xi64>
    }"""
    with pytest.raises(MissingCapabilityError, match="Int64.*memref") as info:
        compile_to_spirv(text)
    assert info.value.capability == "Int64"
