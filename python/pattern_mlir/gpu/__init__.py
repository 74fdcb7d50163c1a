"""The GPU path: pattern convs and whole models to SPIR-V, run through Vulkan.

Public API::

    from pattern_mlir.gpu import compile_for_vulkan
    exe = compile_for_vulkan(module_text)       # func.func @main on tensors
    outputs = exe(x)                             # numpy arrays (or torch tensors) in
    exe.kernels, exe.last_timings

``compile_to_spirv`` stops before the device (host plan + validated binaries);
``lower_to_gpu`` is the IR-level lowering the ``pattern-lower-to-gpu`` pass runs.
See docs/gpu.md for the design and measured numbers.
"""

from pattern_mlir.gpu.compile import compile_for_vulkan
from pattern_mlir.gpu.errors import GpuLoweringError, MissingCapabilityError, UnsupportedOpError
from pattern_mlir.gpu.executable import VulkanExecutable
from pattern_mlir.gpu.lowering import lower_to_gpu
from pattern_mlir.gpu.program import GpuProgram, KernelInfo, compile_to_spirv

__all__ = [
    "GpuLoweringError",
    "GpuProgram",
    "KernelInfo",
    "MissingCapabilityError",
    "UnsupportedOpError",
    "VulkanExecutable",
    "compile_for_vulkan",
    "compile_to_spirv",
    "lower_to_gpu",
]
