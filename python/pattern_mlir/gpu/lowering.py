"""The GPU lowering run in this process, and the check of what it leaves on the host.

The steps themselves are the stages of `compiler.stages.gpu_lowering_stages` (one
registered pass or upstream pipeline each, see passes/lower_to_gpu.py); `compile()` runs
them in its stage worker. `run_in_process` runs the same list here, for the
`pattern-lower-to-gpu` pass and `compile_to_spirv`.
"""

from __future__ import annotations

from mlir import ir
from mlir.passmanager import PassManager

from pattern_mlir.gpu.errors import GpuLoweringError, UnsupportedOpError
from pattern_mlir.passes.utils.conv_info import collect_ops

#: Ops the Vulkan host plan executes or ignores (views alias their operand's buffer).
HOST_OPS = frozenset(
    {
        "func.return",
        "memref.alloc",
        "memref.get_global",
        "memref.dealloc",
        "memref.collapse_shape",
        "memref.expand_shape",
        "memref.cast",
        "memref.reinterpret_cast",
        "memref.subview",
        "builtin.unrealized_conversion_cast",
        "gpu.launch_func",
        "arith.constant",
    }
)


def run_in_process(module, stages) -> None:
    """Runs `stages` (compiler.stages.Stage) on `module` in place. A failed upstream
    pipeline raises GpuLoweringError naming the stage."""
    op = module.operation
    for stage in stages:
        if stage.python_pass:
            stage.python_pass.apply(op)
            continue
        try:
            PassManager.parse(stage.pipeline).run(op)
        except ir.MLIRError as exc:
            raise GpuLoweringError(
                f"stage '{stage.name}' failed ({stage.pipeline}): {exc}"
            ) from exc


def check_host(module: ir.Module) -> None:
    """Every op left in a host function must be one the Vulkan plan knows."""
    for func in collect_ops(module, "func.func"):
        for op in func.regions[0].blocks[0].operations:
            op = op.operation
            if op.name in HOST_OPS:
                continue
            source = str(op.location)
            raise UnsupportedOpError(
                op.name,
                f"it stayed on the host after GPU lowering (at {source}); the GPU path runs "
                "only kernels, so the op that produced it has no parallel form here",
            )
    if not collect_ops(module, "func.func"):
        raise GpuLoweringError("the module has no func.func to run")
