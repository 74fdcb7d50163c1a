"""The caller's process survives whatever the compiler's stages do (compiler/isolation.py).

Each failure mode runs for real in the stage worker: an upstream MLIR assertion (our wheels
have them on) aborting it, a compile over its memory limit, one over its time limit. Each
must come back as a CompileError naming the stage, and this process must go on compiling.
"""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pattern_mlir
import pytest
from pattern_mlir import CompileError, CompileOptions

# A store of an i1 into a memref reaches MemRefToLLVM's StoreOpLowering, which asserts that
# stored integers are at least 8 bits wide: the process running the pass aborts (SIGABRT).
# The store sits in a private function so that no cleanup removes it before the 'llvm' stage.
ASSERTING_IR = """
func.func private @mark(%m: memref<4xi1>) {
  %c0 = arith.constant 0 : index
  %t = arith.constant true
  memref.store %t, %m[%c0] : memref<4xi1>
  return
}
func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
  %m = memref.alloc() : memref<4xi1>
  call @mark(%m) : (memref<4xi1>) -> ()
  return %x : tensor<4xf32>
}
"""

ADD_IR = """
func.func @forward(%x: tensor<8xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  %y = linalg.add ins(%x, %x : tensor<8xf32>, tensor<8xf32>) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}
"""


def _still_compiles() -> None:
    exe = pattern_mlir.compile_str(ADD_IR, options=CompileOptions(num_threads=1))
    x = np.arange(8, dtype=np.float32)
    np.testing.assert_array_equal(exe(x).numpy(), 2 * x)


def test_upstream_assertion_becomes_compile_error(tmp_path, pattern_opt):
    with pytest.raises(CompileError) as caught:
        pattern_mlir.compile_str(
            ASSERTING_IR, options=CompileOptions(num_threads=1, save_temps=str(tmp_path))
        )
    error = caught.value
    assert error.stage == "llvm"
    assert "crashed (SIGABRT)" in str(error) and "finalize-memref-to-llvm" in str(error)
    assert "integralElementType.getWidth() >= 8" in str(
        error
    )  # the assertion, from the child's stderr
    # The reproducer is the stage's whole input and the command replays the crash.
    assert error.input_path == str(tmp_path / "llvm.input.mlir") and os.path.exists(
        error.input_path
    )
    assert error.command.startswith("pattern-opt ")
    replay = subprocess.run(
        error.command.replace("pattern-opt", pattern_opt, 1),
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replay.returncode != 0 and "integralElementType" in replay.stderr
    _still_compiles()


def test_memory_limit_stops_the_stages():
    # 64 MiB of weights held three times over (text parse, packed copy, bytecode) pass 0.3 GiB.
    weight = np.random.default_rng(0).standard_normal((4096, 4096)).astype(np.float32)
    text = """
func.func @forward(%x: tensor<1x4096xf32>) -> tensor<1x4096xf32> {
  %w = arith.constant dense_resource<big> : tensor<4096x4096xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4096xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<1x4096xf32>) -> tensor<1x4096xf32>
  %y = linalg.matmul ins(%x, %w : tensor<1x4096xf32>, tensor<4096x4096xf32>)
                     outs(%f : tensor<1x4096xf32>) -> tensor<1x4096xf32>
  return %y : tensor<1x4096xf32>
}
"""
    with pytest.raises(CompileError, match=r"memory limit \(0\.3 GiB"):
        pattern_mlir.compile_str(
            text,
            options=CompileOptions(num_threads=1, memory_limit_gb=0.3),
            resources={"big": weight},
        )
    _still_compiles()


def test_time_limit_stops_the_stages():
    with pytest.raises(CompileError, match=r"time limit \(0\.01 s"):
        pattern_mlir.compile_str(ADD_IR, options=CompileOptions(num_threads=1, timeout_s=0.01))
    _still_compiles()


def test_limits_are_checked():
    with pytest.raises(ValueError, match="timeout_s"):
        CompileOptions(timeout_s=0)
    with pytest.raises(ValueError, match="memory_limit_gb"):
        CompileOptions(memory_limit_gb=-1)
    assert CompileOptions().memory_limit_bytes <= 8 << 30


def test_unlowered_op_is_named_with_its_location():
    from mlir import ir
    from pattern_mlir.compiler.stage_worker import check_lowered

    text = """
llvm.func @forward(%x: f32) -> f32 {
  %y = arith.addf %x, %x : f32 loc("model.py":12:0)
  llvm.return %y : f32
}
"""
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        with pytest.raises(CompileError, match=r"'arith.addf' at loc\(\"model.py\":12:0\)"):
            check_lowered(module)


def test_importer_failure_marker_is_refused_at_compile_time():
    # torch-mlir marks a case it cannot lower with `cf.assert false`: code that would abort
    # the process running the model. It must be refused now, naming the op.
    text = """
func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
  %false = arith.constant false
  cf.assert %false, "unimplemented: only support cases with fixed stride size." loc("aten.adaptive_max_pool2d in pool (AdaptiveMaxPool2d)"("model.py":7:0))
  return %x : tensor<4xf32>
}
"""
    with pytest.raises(
        CompileError, match=r"could not lower .*aten.adaptive_max_pool2d in pool.*fixed stride"
    ):
        pattern_mlir.compile_str(text, options=CompileOptions(num_threads=1))
