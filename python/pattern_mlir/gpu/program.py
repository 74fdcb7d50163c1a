"""A model compiled for the GPU: host plan + SPIR-V binaries + kernel facts, no device.

Why separate from the executable: everything up to the binaries is
deterministic and device-free, so the report, the lit-style checks and machines
without Vulkan can use it; ``VulkanExecutable`` only adds buffers and a queue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlir import ir

from pattern_mlir.backend.spirv_build import serialize_binaries
from pattern_mlir.backend.spirv_tools import ADRENO_640, SpirvProfile
from pattern_mlir.gpu.host_plan import HostPlan, build_host_plan
from pattern_mlir.gpu.lowering import run_in_process
from pattern_mlir.passes.utils.conv_info import collect_ops


@dataclass(frozen=True)
class KernelInfo:
    """One dispatch of the program, as the report lists it."""

    name: str
    workgroup_size: tuple[int, int, int]
    shared_memory_bytes: int
    workgroup_count: tuple[int, int, int]
    kind: str  # pattern | dense | depthwise (the conv kernel) | upstream (linalg lowering)
    kept_macs: int = 0  # of a conv kernel: multiply-adds of its kept taps per inference

    @property
    def pattern(self) -> bool:
        """A kernel of a pattern-pruned conv (pattern.packed_conv2d in the input)."""
        return self.kind == "pattern"


@dataclass
class GpuProgram:
    plan: HostPlan
    binaries: dict[str, bytes]
    kernels: list[KernelInfo]


def _shared_bytes(module) -> dict[str, int]:
    """Workgroup memory per gpu.module (memref.alloc in Workgroup storage)."""
    sizes = {}
    for gpu_module in collect_ops(module, "gpu.module"):
        total = 0
        for alloc in collect_ops(gpu_module, "memref.alloc"):
            memref = ir.MemRefType(alloc.results[0].type)
            if "Workgroup" in str(memref.memory_space) or "workgroup" in str(memref.memory_space):
                count, element = 1, memref.element_type
                for d in memref.shape:
                    count *= d
                if isinstance(element, ir.VectorType):  # staged tiles are vec4s
                    count *= math.prod(element.shape)
                    element = element.element_type
                total += count * element.width // 8
        sizes[ir.StringAttr(gpu_module.attributes["sym_name"]).value] = total
    return sizes


def program_from_module(module, entry: str | None = "main") -> GpuProgram:
    """The program of a module the GPU stages have lowered to SPIR-V (the compiler's final
    module): its host plan, binaries (validated by the `validated` stage) and kernels."""
    plan = build_host_plan(module, entry)
    shared = _shared_bytes(module)
    binaries = serialize_binaries(module, validate=False)
    kernels = [
        KernelInfo(
            name=d.entry,
            workgroup_size=d.workgroup_size,
            shared_memory_bytes=shared.get(d.module, 0),
            workgroup_count=d.groups,
            kind=d.kind,
            kept_macs=d.kept_macs,
        )
        for d in plan.dispatches
    ]
    return GpuProgram(plan, binaries, kernels)


def compile_to_spirv(
    module_text: str,
    *,
    profile: SpirvProfile = ADRENO_640,
    entry: str | None = "main",
    staged: bool | None = None,
    dense_convs: bool = True,
) -> GpuProgram:
    """Parse a packed tensor-level module, run the GPU stages on it here and build the program.
    ``profile`` must be one of ``spirv_tools.SPIRV_PROFILES``; ``staged`` forces the pattern
    kernels' variant; ``dense_convs=False`` leaves dense and depthwise convs to the upstream path."""
    from pattern_mlir.compiler.stages import gpu_lowering_stages

    stages = gpu_lowering_stages(profile.name, dense_convs=dense_convs, staged=staged)
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(module_text)
        run_in_process(module, stages)
        return program_from_module(module, entry)
