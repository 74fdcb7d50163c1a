"""The whole GPU lowering of a module: tensors in, host function + gpu.modules out.

Why one function: the ``pattern-lower-to-gpu`` pass, ``compile_for_vulkan`` and
the report must run exactly the same steps. In order:

1. reject unsupported ops by name; drop ``cf.assert``; fold f64 constants;
2. tensor clean-up (canonicalize, CSE, elementwise fusion: fewer kernels);
3. dense and depthwise convs with constant weights become packed convs with a
   one-mask library (dense_convs); every ``pattern.packed_conv2d`` -> its
   specialised kernel (pattern_lowering);
4. One-Shot Bufferize; copies -> linalg.copy; name linalg ops; linalg ->
   scf.parallel (+ sequential reductions); fold views into loads/stores;
5. each loop nest -> 1-D grid of 64-invocation workgroups (linearize), mapped
   and turned into ``gpu.launch`` by upstream passes; constants sunk; outlined;
   kernels named after their source op; target env + entry ABI attached;
6. kernels needing a capability the profile lacks are rejected by name;
   the zero-trip scf.for workaround is applied;
7. the host function is checked to hold only what the Vulkan plan executes.

The result still needs ``spirv_build.build_spirv`` to become binaries.
"""

from __future__ import annotations

from mlir import ir

from pattern_mlir.gpu import bufferize as buf
from pattern_mlir.gpu import tensor_prep
from pattern_mlir.gpu.capabilities import MEMORY_CAPABILITIES, check_kernel_capabilities
from pattern_mlir.gpu.dense_convs import convert_dense_convs
from pattern_mlir.gpu.errors import GpuLoweringError, UnsupportedOpError
from pattern_mlir.gpu.irutil import as_operation, location_text, ops_named
from pattern_mlir.gpu.linearize import linearize_parallel_loops
from pattern_mlir.gpu.outline import MAP_TO_GPU, attach_target, outline_and_name
from pattern_mlir.gpu.pattern_lowering import PatternConvKernel, lower_pattern_convs
from pattern_mlir.gpu.wide_ints import NARROW_PIPELINE, narrow_index_float_casts
from pattern_mlir.gpu.zero_trip_loops import guard_zero_trip_loops
from pattern_mlir.runtime.spirv_tools import ADRENO_640, SpirvProfile

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


def lower_to_gpu(
    module: ir.Module,
    *,
    profile: SpirvProfile = ADRENO_640,
    plan_options: dict | None = None,
    dense_convs: bool = True,
) -> list[PatternConvKernel]:
    """Lower ``module`` in place (see the module docstring); return the conv kernels.

    ``dense_convs``: also run dense and depthwise convs with constant weights through
    the pattern-conv kernel (one full pattern); False leaves them to the upstream path.
    """
    tensor_prep.check_supported(module)
    tensor_prep.strip_asserts(module)
    tensor_prep.fold_f64_constants(module)
    buf.run_pipeline(module, buf.TENSOR_CLEANUP, "tensor clean-up")
    if dense_convs:
        convert_dense_convs(module)
    target_env = profile.target_env()
    pattern_kernels = lower_pattern_convs(module, target_env, plan_options=plan_options)
    buf.bufferize(module)
    buf.tag_linalg_ops(module)
    buf.to_parallel_loops(module)
    linearize_parallel_loops(module)
    buf.run_pipeline(module, MAP_TO_GPU, "mapping loops to the GPU")
    as_operation(module).attributes["gpu.container_module"] = ir.UnitAttr.get()
    outline_and_name(module)
    attach_target(module, target_env)
    check_kernel_capabilities(module, profile, MEMORY_CAPABILITIES)
    for gpu_module in ops_named(module, "gpu.module"):
        narrow_index_float_casts(gpu_module)
    buf.run_pipeline(module, NARROW_PIPELINE, "narrowing 64-bit integers")
    check_kernel_capabilities(module, profile)
    for gpu_module in ops_named(module, "gpu.module"):
        guard_zero_trip_loops(gpu_module)
    check_host(module)
    return pattern_kernels


def check_host(module: ir.Module) -> None:
    """Every op left in a host function must be one the Vulkan plan knows."""
    for func in ops_named(module, "func.func"):
        for op in func.regions[0].blocks[0].operations:
            op = as_operation(op)
            if op.name in HOST_OPS:
                continue
            source = location_text(op)
            raise UnsupportedOpError(
                op.name,
                f"it stayed on the host after GPU lowering (at {source}); the GPU path runs "
                "only kernels, so the op that produced it has no parallel form here",
            )
    if not ops_named(module, "func.func"):
        raise GpuLoweringError("the module has no func.func to run")
