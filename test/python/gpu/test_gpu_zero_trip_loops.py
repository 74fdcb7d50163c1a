"""Pins MLIR 22's scf.for -> SPIR-V bug that zero_trip_loops.py works around.

An scf.for with iter_args that runs zero times must yield its initial value;
the upstream lowering stores results only inside the body, so it yields an
uninitialised variable. If the unguarded check starts passing, upstream fixed
it and pattern_mlir/gpu/zero_trip_loops.py can go.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.passmanager import PassManager
from pattern_mlir.backend.spirv_build import serialize_binaries
from pattern_mlir.backend.spirv_tools import ADRENO_640
from pattern_mlir.compiler.stages import GPU_TO_SPIRV
from pattern_mlir.gpu.zero_trip_loops import guard_zero_trip_loops
from pattern_mlir.passes.utils.conv_info import collect_ops

KERNEL = """
module attributes {gpu.container_module} {
  gpu.module @k attributes {spirv.target_env = ENV} {
    gpu.func @k(%n: memref<1xi32>, %out: memref<1xf32>) kernel
        attributes {spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [1, 1, 1]>} {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %init = arith.constant 3.0 : f32
      %raw = memref.load %n[%c0] : memref<1xi32>
      %trips = arith.index_cast %raw : i32 to index
      %r = scf.for %i = %c0 to %trips step %c1 iter_args(%x = %init) -> (f32) {
        %y = arith.addf %x, %init : f32
        scf.yield %y : f32
      }
      memref.store %r, %out[%c0] : memref<1xf32>
      gpu.return
    }
  }
}
"""


def _run(device, guard: bool, trips: int) -> float:
    with ir.Context():
        module = ir.Module.parse(KERNEL.replace("ENV", ADRENO_640.target_env()))
        if guard:
            assert guard_zero_trip_loops(module) == 1
            assert len(collect_ops(module, "arith.select")) == 1
        PassManager.parse(GPU_TO_SPIRV).run(module.operation)
        (binary,) = serialize_binaries(module).values()
    kernel = device.kernel(binary, "k")
    n, out = device.upload(np.array([trips], np.int32)), device.buffer((1,))
    device.run(kernel, [n, out], (1,))
    value = float(out.download()[0])
    for obj in (n, out, kernel):
        obj.close()
    return value


def test_guarded_loops_keep_their_initial_value(device):
    assert _run(device, guard=True, trips=0) == 3.0
    assert _run(device, guard=True, trips=2) == 9.0


def test_upstream_bug_is_still_present(device):
    unguarded = _run(device, guard=False, trips=0)
    assert unguarded != 3.0 or np.isnan(unguarded), (
        "upstream scf.for -> SPIR-V now keeps the initial value of zero-trip loops: "
        "drop pattern_mlir/gpu/zero_trip_loops.py"
    )
