"""Run a compiled GpuProgram on a Vulkan device: the object users call.

Why this shape (issue 6, runtime): weights are uploaded once when the executable
is made, every intermediate buffer is allocated once, and the whole kernel
sequence is recorded once into one command buffer (barriers where a dispatch
touches a buffer an earlier one touched, a timestamp pair per dispatch); each call
uploads the inputs, submits that command buffer and reads the outputs back. On
lavapipe (a CPU driver) the timings describe this machine's CPU, not a phone GPU.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from pattern_mlir.gpu.errors import GpuLoweringError
from pattern_mlir.gpu.program import GpuProgram, KernelInfo
from pattern_mlir.runtime.vulkan import VulkanDevice


class VulkanExecutable:
    """``exe(*inputs) -> [outputs]``; see the module docstring.

    ``kernels``: one KernelInfo per dispatch, in execution order.
    ``last_timings``: after a call, {"kernels": [(name, ms), ...], "gpu_ms", "wall_ms"}
    (per-kernel times are None where the queue has no timestamps).
    """

    def __init__(self, program: GpuProgram, device=None, *, timeout_s: float = 600.0):
        self.program = program
        #: How long one inference may take on the device before VulkanError (lavapipe on a
        #: busy CPU needs tens of seconds for ResNet-50).
        self.timeout_s = timeout_s
        self.kernels: list[KernelInfo] = list(program.kernels)
        self.last_timings: dict | None = None
        self._own_device = not isinstance(device, VulkanDevice)
        self._device = VulkanDevice(device) if self._own_device else device
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    @property
    def device(self) -> VulkanDevice:
        return self._device

    def _setup(self) -> None:
        dev, plan = self._device, self.program.plan
        self._buffers = []
        for spec in plan.buffers:
            if spec.dtype.itemsize < 4:
                self._buffers.append(self._word_buffer(spec))
            elif spec.data is not None:
                data = np.ascontiguousarray(spec.data, dtype=spec.dtype).reshape(spec.shape)
                self._buffers.append(dev.upload(data))
            else:
                self._buffers.append(dev.buffer(spec.shape, spec.dtype))
        self._kernels = {}
        for d in plan.dispatches:
            key = (d.module, d.entry)
            if key not in self._kernels:
                self._kernels[key] = dev.kernel(self.program.binaries[d.module], d.entry)
        timestamps = dev.info.timestamp_valid_bits > 0
        self._sequence = dev.sequence(timestamps=timestamps)
        for d in plan.dispatches:
            self._sequence.dispatch(
                self._kernels[(d.module, d.entry)], [self._buffers[i] for i in d.buffers], d.groups
            )

    def _word_buffer(self, spec):
        """A buffer of bool or 8/16-bit elements as 32-bit words: the SPIR-V conversion packs
        such elements into words (an Adreno has no 8-bit storage), so the kernel binds words
        and reads the last one whole."""
        count = math.prod(spec.shape)
        words = -(-count * spec.dtype.itemsize // 4)
        if spec.data is None:
            return self._device.buffer((words,), np.int32)
        data = np.zeros(4 * words, np.uint8)
        data[: count * spec.dtype.itemsize] = (
            np.ascontiguousarray(spec.data, dtype=spec.dtype).view(np.uint8).reshape(-1)
        )
        return self._device.upload(data.view(np.int32))

    def __call__(self, *inputs) -> list[np.ndarray]:
        plan = self.program.plan
        if len(inputs) != len(plan.inputs):
            raise GpuLoweringError(f"the model takes {len(plan.inputs)} inputs, got {len(inputs)}")
        for position, (value, index) in enumerate(zip(inputs, plan.inputs)):
            spec = plan.buffers[index]
            array = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)
            if array.shape != spec.shape:
                raise GpuLoweringError(
                    f"input {position} has shape {array.shape}, the model expects {spec.shape}"
                )
            self._buffers[index].upload(np.ascontiguousarray(array, dtype=spec.dtype))
        if plan.dispatches:
            result = self._sequence.submit(timeout_s=self.timeout_s)
            per = result.dispatch_ms or [None] * len(plan.dispatches)
            self.last_timings = {
                "kernels": [(k.name, ms) for k, ms in zip(self.kernels, per)],
                "gpu_ms": result.gpu_ms,
                "wall_ms": result.wall_ms,
            }
        return [self._output(i, shape) for i, shape in plan.outputs]

    def _output(self, index: int, shape) -> np.ndarray:
        dtype = self.program.plan.buffers[index].dtype
        data = self._buffers[index].download().reshape(-1)
        if data.dtype != dtype:  # a word buffer (see _word_buffer)
            data = data.view(dtype)
        return data[: math.prod(shape)].reshape(shape)

    def close(self) -> None:
        """Free buffers, kernels and the command buffer (and the device if it is ours)."""
        if getattr(self, "_device", None) is None:
            return
        if self._own_device:
            self._device.close()
        else:
            for obj in [
                getattr(self, "_sequence", None),
                *getattr(self, "_kernels", {}).values(),
                *getattr(self, "_buffers", []),
            ]:
                if obj is not None:
                    obj.close()
        self._device = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # At interpreter shutdown the binding may already be gone; nothing to report then.
        with contextlib.suppress(Exception):
            self.close()
