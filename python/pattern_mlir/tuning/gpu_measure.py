"""Timing one layer's GPU kernel for a schedule on the Vulkan device.

Each candidate is the layer as a one-conv module (``gpu.conv_cases.packed_conv_module``)
carrying the schedule, compiled by ``compile_for_vulkan`` and run on one device the bench
keeps open. A sample is the mean of the kernel's timestamp-query times (device time, not
host wall time) over enough runs to last about ``sample_ms``; where the queue has no
timestamps the call's wall time stands in. Medians, early rejection and the interleaved
re-measurement are ``LayerBench``'s.
"""

from __future__ import annotations

import numpy as np

from ..codegen.schedule import Schedule
from .measure import LayerBench

__all__ = ["GpuLayerBench"]


class GpuLayerBench(LayerBench):
    """Compiles and times one layer's Vulkan kernel per schedule on one open device."""

    def __init__(self, layer, *, sample_ms: float = 20.0, keep: int = 4, device=None) -> None:
        from ..runtime.vulkan import VulkanDevice

        super().__init__(layer, clock="wall", sample_ms=sample_ms, keep=keep)
        sig = layer.signature
        self._input_shape = (1, sig.in_channels, sig.height, sig.width)
        self._x = np.random.default_rng(0).standard_normal(self._input_shape, dtype=np.float32)
        self.device = VulkanDevice(device)

    def close(self) -> None:
        super().close()  # the executables first: they hold the device's buffers
        self.device.close()

    def _build(self, schedule: Schedule):
        from ..gpu.compile import compile_for_vulkan
        from ..gpu.conv_cases import packed_conv_module

        sig = self.layer.signature
        text = packed_conv_module(
            self.layer.packed,
            self._input_shape,
            sig.stride,
            sig.padding,
            sig.dilation,
            schedule=schedule,
        )
        return compile_for_vulkan(text, device=self.device)

    def _time(self, exe, runs: int) -> float:
        total = 0.0
        for _ in range(runs):
            exe(self._x)
            timings = exe.last_timings
            total += timings["gpu_ms"] if timings["gpu_ms"] is not None else timings["wall_ms"]
        return total / runs
