"""Vulkan executables: from the compiler's final module, or from packed MLIR text."""

from __future__ import annotations

from pattern_mlir.backend.spirv_tools import ADRENO_640, SpirvProfile
from pattern_mlir.gpu.executable import VulkanExecutable
from pattern_mlir.gpu.program import compile_to_spirv, program_from_module


def executable_from_module(module, *, entry: str = "forward", device=None) -> VulkanExecutable:
    """Loads a module the GPU stages lowered to SPIR-V (what `compile()`'s stage worker hands
    back) on ``device`` (a VulkanDevice, a device index or name, or None for the best one)."""
    return VulkanExecutable(program_from_module(module, entry), device)


def compile_for_vulkan(
    module_text: str,
    *,
    device=None,
    profile: SpirvProfile = ADRENO_640,
    entry: str | None = "main",
    staged: bool | None = None,
    dense_convs: bool = True,
) -> VulkanExecutable:
    """Compile a module (``func.func @main`` on tensors; linalg-on-tensors from
    torch-mlir plus ``pattern.packed_conv2d``) in this process through the GPU stages and
    load it on ``device``.

    Raises GpuLoweringError (UnsupportedOpError naming an op the GPU path cannot lower,
    MissingCapabilityError naming a capability the profile lacks), and
    VulkanUnavailableError when this machine has no Vulkan driver.
    """
    program = compile_to_spirv(
        module_text, profile=profile, entry=entry, staged=staged, dense_convs=dense_convs
    )
    return VulkanExecutable(program, device)
