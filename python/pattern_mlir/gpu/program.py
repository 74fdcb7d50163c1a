"""A model compiled for the GPU: host plan + SPIR-V binaries + kernel facts, no device.

Why separate from the executable: everything up to the binaries is
deterministic and device-free, so the report, the lit-style checks and machines
without Vulkan can use it; ``VulkanExecutable`` only adds buffers and a queue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlir import ir

from pattern_mlir.gpu.host_plan import HostPlan, build_host_plan
from pattern_mlir.gpu.irutil import as_operation, ops_named, symbol_name
from pattern_mlir.gpu.lowering import lower_to_gpu
from pattern_mlir.gpu.pattern_lowering import PatternConvKernel
from pattern_mlir.gpu.spirv_build import build_spirv
from pattern_mlir.runtime.spirv_tools import ADRENO_640, SpirvProfile


@dataclass(frozen=True)
class KernelInfo:
    """One dispatch of the program, as the report lists it."""

    name: str
    workgroup_size: tuple[int, int, int]
    shared_memory_bytes: int
    workgroup_count: tuple[int, int, int]
    kind: str  # pattern | dense | depthwise (the conv kernel) | upstream (linalg lowering)

    @property
    def pattern(self) -> bool:
        """A kernel of a pattern-pruned conv (pattern.packed_conv2d in the input)."""
        return self.kind == "pattern"


@dataclass
class GpuProgram:
    plan: HostPlan
    binaries: dict[str, bytes]
    kernels: list[KernelInfo]
    pattern_kernels: list[PatternConvKernel]
    gpu_ir: str  # the lowered module before SPIR-V conversion (gpu + host)


def _shared_bytes(module: ir.Module) -> dict[str, int]:
    """Workgroup memory per gpu.module (memref.alloc in Workgroup storage)."""
    sizes = {}
    for gpu_module in ops_named(module, "gpu.module"):
        total = 0
        for alloc in ops_named(gpu_module, "memref.alloc"):
            memref = ir.MemRefType(alloc.results[0].type)
            if "Workgroup" in str(memref.memory_space) or "workgroup" in str(memref.memory_space):
                count, element = 1, memref.element_type
                for d in memref.shape:
                    count *= d
                if isinstance(element, ir.VectorType):  # staged tiles are vec4s
                    count *= math.prod(element.shape)
                    element = element.element_type
                total += count * element.width // 8
        sizes[symbol_name(gpu_module)] = total
    return sizes


def compile_to_spirv(
    module_text: str,
    *,
    profile: SpirvProfile = ADRENO_640,
    entry: str | None = "main",
    plan_options: dict | None = None,
    dense_convs: bool = True,
    keep_ir: bool = False,
) -> GpuProgram:
    """Parse, lower (``lower_to_gpu``), plan the host side and build validated binaries."""
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(module_text)
        pattern_kernels = lower_to_gpu(
            module, profile=profile, plan_options=plan_options, dense_convs=dense_convs
        )
        plan = build_host_plan(module, entry)
        shared = _shared_bytes(module)
        gpu_ir = as_operation(module).get_asm(large_elements_limit=16) if keep_ir else ""
        binaries = build_spirv(module, profile)
    kinds = {k.name: k.kind for k in pattern_kernels}
    kernels = [
        KernelInfo(
            name=d.entry,
            workgroup_size=d.workgroup_size,
            shared_memory_bytes=shared.get(d.module, 0),
            workgroup_count=d.groups,
            kind=kinds.get(d.module, "upstream"),
        )
        for d in plan.dispatches
    ]
    return GpuProgram(plan, binaries, kernels, pattern_kernels, gpu_ir)
