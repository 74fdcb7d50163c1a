"""Vulkan compute runtime for SPIR-V kernels (public entry point).

Why a small runtime of our own: the compiler emits plain SPIR-V compute shaders
(MLIR ``convert-gpu-to-spirv``) and needs to run them, check them against numpy and
time them, on lavapipe in CI and unchanged on a phone GPU. The PyPI ``vulkan``
binding gives raw calls; this wraps them into four objects::

    from pattern_mlir.runtime.vulkan import VulkanDevice

    with VulkanDevice() as dev:                      # VulkanUnavailableError if none
        a, b = dev.upload(x), dev.upload(y)          # host-visible storage buffers
        c = dev.buffer(x.shape, x.dtype)
        add = dev.kernel(spirv_bytes, "add")         # bindings read from the SPIR-V
        with dev.sequence(timestamps=True) as seq:   # many dispatches, one submit
            seq.dispatch(add, [a, b, c], groups=(16,))
            seq.dispatch(add, [c, b, c], groups=(16,))   # barrier inserted (c reused)
            timing = seq.submit()                    # timing.dispatch_ms per dispatch
        result = c.download()

Buffers are passed to a dispatch in the kernel's binding order (``kernel.bindings``,
sorted by descriptor set then binding; for MLIR kernels that is argument order).
Everything is freed by ``close()`` or the ``with`` block; the device frees whatever
is still open when it closes. Nothing here depends on the subgroup size or on
lavapipe behaviour.
"""

from __future__ import annotations

from pattern_mlir.runtime.vulkan_buffer import Buffer
from pattern_mlir.runtime.vulkan_commands import CommandSequence, SubmitResult
from pattern_mlir.runtime.vulkan_device import DEVICE_ENV, DeviceInfo, VulkanDevice
from pattern_mlir.runtime.vulkan_errors import VulkanError, VulkanUnavailableError
from pattern_mlir.runtime.vulkan_kernel import Kernel
from pattern_mlir.runtime.vulkan_spirv_reflect import ResourceBinding

__all__ = [
    "DEVICE_ENV",
    "Buffer",
    "CommandSequence",
    "DeviceInfo",
    "Kernel",
    "ResourceBinding",
    "SubmitResult",
    "VulkanDevice",
    "VulkanError",
    "VulkanUnavailableError",
    "vulkan_device_name",
]


def vulkan_device_name(device=None) -> str:
    """The name of the Vulkan device `device` selects (None: the default choice), which GPU
    tuning results are keyed by. Opens the device; VulkanUnavailableError without a driver."""
    dev = VulkanDevice(device)
    try:
        return dev.info.name
    finally:
        dev.close()
