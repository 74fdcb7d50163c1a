"""The GPU path: pattern convs and whole models to SPIR-V, run through Vulkan.

Public API::

    from pattern_mlir.gpu import compile_for_vulkan
    exe = compile_for_vulkan(module_text)       # func.func @main on tensors
    outputs = exe(x)                             # numpy arrays (or torch tensors) in
    exe.kernels, exe.last_timings

``compile_to_spirv`` stops before the device (host plan + validated binaries);
``executable_from_module`` loads what ``compile(..., target="vulkan-adreno")``'s stages
produced. The lowering itself is the GPU stages of ``compiler.stages``.
See docs/gpu.md for the design and measured numbers.
"""

from pattern_mlir.gpu.compile import compile_for_vulkan, executable_from_module
from pattern_mlir.gpu.errors import GpuLoweringError, MissingCapabilityError, UnsupportedOpError
from pattern_mlir.gpu.executable import VulkanExecutable
from pattern_mlir.gpu.program import GpuProgram, KernelInfo, compile_to_spirv, program_from_module

__all__ = [
    "GpuLoweringError",
    "GpuProgram",
    "KernelInfo",
    "MissingCapabilityError",
    "UnsupportedOpError",
    "VulkanExecutable",
    "compile_for_vulkan",
    "compile_to_spirv",
    "executable_from_module",
    "program_from_module",
]
