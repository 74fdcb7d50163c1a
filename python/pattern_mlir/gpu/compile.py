"""``compile_for_vulkan``: MLIR text in, a callable Vulkan executable out."""

from __future__ import annotations

from pattern_mlir.gpu.executable import VulkanExecutable
from pattern_mlir.gpu.program import compile_to_spirv
from pattern_mlir.runtime.spirv_tools import ADRENO_640, SpirvProfile


def compile_for_vulkan(
    module_text: str,
    *,
    device=None,
    profile: SpirvProfile = ADRENO_640,
    entry: str | None = "main",
    plan_options: dict | None = None,
    dense_convs: bool = True,
) -> VulkanExecutable:
    """Compile a module (``func.func @main`` on tensors; linalg-on-tensors from
    torch-mlir plus ``pattern.packed_conv2d``) for ``profile`` and load it on
    ``device`` (a VulkanDevice, a device index or name, or None for the best one).

    ``plan_options`` override the pattern-conv tiling (``staged``,
    ``filters_per_group``); ``dense_convs=False`` leaves dense and depthwise convs
    to the upstream lowering instead of the pattern-conv kernel.

    Raises UnsupportedOpError naming an op the GPU path cannot lower,
    MissingCapabilityError / SpirvProfileError naming a capability the profile
    lacks, and VulkanUnavailableError when this machine has no Vulkan driver.
    """
    program = compile_to_spirv(
        module_text,
        profile=profile,
        entry=entry,
        plan_options=plan_options,
        dense_convs=dense_convs,
    )
    return VulkanExecutable(program, device)
