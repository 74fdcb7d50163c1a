"""Record many dispatches into one command buffer, submit once, time each on the GPU.

Why: a compiled model is tens to hundreds of kernels; submitting each one alone
costs a queue round trip per layer and hides the GPU time under host overhead.
A ``CommandSequence`` records them all, inserts a pipeline barrier only where a
dispatch touches a buffer that an earlier dispatch since the last barrier also
touched (conservatively treating every binding as read and written), brackets each
dispatch with timestamp queries when asked, and can be submitted again and again
(benchmarks re-run the same recording).

Recording happens at the first ``submit()``; after that the sequence is sealed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from pattern_mlir.runtime.vulkan_errors import VulkanError, binding, call
from pattern_mlir.runtime.vulkan_resource import DeviceResource


@dataclass(frozen=True)
class SubmitResult:
    """Timing of one submission.

    ``dispatch_ms``: GPU time per dispatch, in recording order (None without
    timestamps); ``gpu_ms``: GPU time from the first dispatch's start to the last
    one's end (None without timestamps); ``wall_ms``: host time for submit + wait.
    """

    dispatch_ms: tuple[float, ...] | None
    gpu_ms: float | None
    wall_ms: float


@dataclass
class _Dispatch:
    kernel: object
    buffers: list
    groups: tuple[int, int, int]
    push_constants: bytes | None


def _groups(groups, kernel, info) -> tuple[int, int, int]:
    if isinstance(groups, (int, np.integer)):
        groups = (groups,)
    groups = tuple(int(g) for g in groups)
    if not 1 <= len(groups) <= 3:
        raise VulkanError(f"workgroup counts must be 1 to 3 integers, got {groups}")
    groups = groups + (1,) * (3 - len(groups))
    if any(g < 1 for g in groups) or any(g > m for g, m in zip(groups, info.max_workgroup_count)):
        raise VulkanError(
            f"kernel {kernel.name!r}: workgroup counts {list(groups)} must be >= 1 and "
            f"<= {list(info.max_workgroup_count)}"
        )
    return groups


def _push_bytes(data, kernel) -> bytes | None:
    if data is None:
        if kernel.push_constant_size:
            raise VulkanError(
                f"kernel {kernel.name!r} needs {kernel.push_constant_size} bytes of push constants"
            )
        return None
    raw = np.ascontiguousarray(data).tobytes() if isinstance(data, np.ndarray) else bytes(data)
    if len(raw) != kernel.push_constant_size:
        raise VulkanError(
            f"kernel {kernel.name!r} takes {kernel.push_constant_size} bytes of push "
            f"constants, got {len(raw)}"
        )
    return raw


class CommandSequence(DeviceResource):
    """Dispatches recorded into one command buffer; see ``VulkanDevice.sequence``."""

    def __init__(self, device, *, timestamps: bool = False):
        self._device = device
        self._vk = binding()
        if timestamps and device.info.timestamp_valid_bits == 0:
            raise VulkanError(
                f"{device.info.name}'s compute queue family {device.info.queue_family} "
                "does not support timestamp queries"
            )
        self.timestamps = timestamps
        self._dispatches: list[_Dispatch] = []
        self._command_pool = self._descriptor_pool = self._query_pool = self._fence = None
        self._command_buffer = None
        self._sealed = self._closed = False
        device.own(self)

    def __len__(self) -> int:
        return len(self._dispatches)

    @property
    def recorded(self) -> bool:
        """True once the first submit recorded the command buffer (then sealed)."""
        return self._sealed

    def dispatch(self, kernel, buffers, groups, push_constants=None) -> int:
        """Append ``kernel`` over ``groups`` workgroups; return the dispatch's index.

        ``buffers``: in ``kernel.bindings`` order, or a mapping (see
        ``Kernel.check_buffers``); checked now, bound at the first submit.
        ``push_constants``: bytes or an array of exactly ``kernel.push_constant_size``.
        """
        if self._closed:
            raise VulkanError("the command sequence is closed")
        if self.recorded:
            raise VulkanError("the command sequence was already submitted; make a new one")
        if kernel._device is not self._device:
            raise VulkanError(f"kernel {kernel.name!r} belongs to another device")
        kernel.pipeline  # noqa: B018  (raises if closed)
        buffers = kernel.check_buffers(buffers)
        item = _Dispatch(
            kernel,
            buffers,
            _groups(groups, kernel, self._device.info),
            _push_bytes(push_constants, kernel),
        )
        self._dispatches.append(item)
        return len(self._dispatches) - 1

    # -- recording --------------------------------------------------------------
    def _record(self) -> None:
        vk, dev = self._vk, self._device
        handle = dev.handle
        pool_info = vk.VkCommandPoolCreateInfo(queueFamilyIndex=dev.info.queue_family)
        self._command_pool = call(
            "vkCreateCommandPool", vk.vkCreateCommandPool, handle, pool_info, None
        )
        alloc = vk.VkCommandBufferAllocateInfo(
            commandPool=self._command_pool,
            level=vk.VK_COMMAND_BUFFER_LEVEL_PRIMARY,
            commandBufferCount=1,
        )
        self._command_buffer = call(
            "vkAllocateCommandBuffers", vk.vkAllocateCommandBuffers, handle, alloc
        )[0]
        self._fence = call("vkCreateFence", vk.vkCreateFence, handle, vk.VkFenceCreateInfo(), None)
        sets = self._descriptor_sets(vk, handle)
        count = 2 * len(self._dispatches)
        if self.timestamps:
            query_info = vk.VkQueryPoolCreateInfo(
                queryType=vk.VK_QUERY_TYPE_TIMESTAMP, queryCount=count
            )
            self._query_pool = call(
                "vkCreateQueryPool", vk.vkCreateQueryPool, handle, query_info, None
            )
        cmd = self._command_buffer
        call("vkBeginCommandBuffer", vk.vkBeginCommandBuffer, cmd, vk.VkCommandBufferBeginInfo())
        if self.timestamps:
            vk.vkCmdResetQueryPool(cmd, self._query_pool, 0, count)
        # Order against whatever an earlier submission wrote.
        self._barrier(cmd, vk.VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, vk.VK_ACCESS_SHADER_WRITE_BIT)
        touched: set[int] = set()
        bottom = vk.VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT
        for i, (item, item_sets) in enumerate(zip(self._dispatches, sets)):
            ids = {id(b) for b in item.buffers}
            if ids & touched:
                self._barrier(
                    cmd, vk.VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, vk.VK_ACCESS_SHADER_WRITE_BIT
                )
                touched.clear()
            touched |= ids
            if self.timestamps:
                vk.vkCmdWriteTimestamp(cmd, bottom, self._query_pool, 2 * i)
            kernel = item.kernel
            vk.vkCmdBindPipeline(cmd, vk.VK_PIPELINE_BIND_POINT_COMPUTE, kernel.pipeline)
            if item_sets:
                vk.vkCmdBindDescriptorSets(
                    cmd,
                    vk.VK_PIPELINE_BIND_POINT_COMPUTE,
                    kernel.pipeline_layout,
                    0,
                    len(item_sets),
                    item_sets,
                    0,
                    None,
                )
            if item.push_constants is not None:
                vk.vkCmdPushConstants(
                    cmd,
                    kernel.pipeline_layout,
                    vk.VK_SHADER_STAGE_COMPUTE_BIT,
                    0,
                    len(item.push_constants),
                    vk.ffi.from_buffer(item.push_constants),
                )
            vk.vkCmdDispatch(cmd, *item.groups)
            if self.timestamps:
                vk.vkCmdWriteTimestamp(cmd, bottom, self._query_pool, 2 * i + 1)
        # Make the results visible to the host after the fence.
        self._barrier(
            cmd,
            vk.VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
            vk.VK_ACCESS_SHADER_WRITE_BIT,
            vk.VK_PIPELINE_STAGE_HOST_BIT,
            vk.VK_ACCESS_HOST_READ_BIT,
        )
        call("vkEndCommandBuffer", vk.vkEndCommandBuffer, cmd)

    def _barrier(self, cmd, src_stage, src_access, dst_stage=None, dst_access=None) -> None:
        vk = self._vk
        if dst_stage is None:
            dst_stage = vk.VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT
            dst_access = vk.VK_ACCESS_SHADER_READ_BIT | vk.VK_ACCESS_SHADER_WRITE_BIT
        barrier = vk.VkMemoryBarrier(srcAccessMask=src_access, dstAccessMask=dst_access)
        vk.vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, [barrier], 0, None, 0, None)

    def _descriptor_sets(self, vk, handle) -> list[list]:
        """Allocate and write one group of descriptor sets per dispatch."""
        layouts = [layout for d in self._dispatches for layout in d.kernel.set_layouts]
        if not layouts:
            return [[] for _ in self._dispatches]
        counts: dict[int, int] = {}
        for d in self._dispatches:
            for b in d.kernel.bindings:
                kind = d.kernel.descriptor_type(b)
                counts[kind] = counts.get(kind, 0) + 1
        sizes = [vk.VkDescriptorPoolSize(type=t, descriptorCount=n) for t, n in counts.items()]
        pool_info = vk.VkDescriptorPoolCreateInfo(
            maxSets=len(layouts), poolSizeCount=len(sizes), pPoolSizes=sizes or None
        )
        self._descriptor_pool = call(
            "vkCreateDescriptorPool", vk.vkCreateDescriptorPool, handle, pool_info, None
        )
        alloc = vk.VkDescriptorSetAllocateInfo(
            descriptorPool=self._descriptor_pool,
            descriptorSetCount=len(layouts),
            pSetLayouts=layouts,
        )
        flat = call("vkAllocateDescriptorSets", vk.vkAllocateDescriptorSets, handle, alloc)
        result, writes, keep, at = [], [], [], 0
        for d in self._dispatches:
            mine = [flat[at + s] for s in range(len(d.kernel.set_layouts))]
            at += len(mine)
            result.append(mine)
            for buf, b in zip(d.buffers, d.kernel.bindings):
                info = vk.VkDescriptorBufferInfo(buffer=buf.handle, offset=0, range=buf.size)
                keep.append(info)
                writes.append(
                    vk.VkWriteDescriptorSet(
                        dstSet=mine[b.descriptor_set],
                        dstBinding=b.binding,
                        dstArrayElement=0,
                        descriptorCount=1,
                        descriptorType=d.kernel.descriptor_type(b),
                        pBufferInfo=[info],
                    )
                )
        if writes:
            vk.vkUpdateDescriptorSets(handle, len(writes), writes, 0, None)
        return result

    # -- submission -------------------------------------------------------------
    def submit(self, *, timeout_s: float = 60.0) -> SubmitResult:
        """Run the sequence on the GPU, wait for it, and return its timing."""
        if self._closed:
            raise VulkanError("the command sequence is closed")
        if not self._dispatches:
            raise VulkanError("the command sequence has no dispatches")
        for i, d in enumerate(self._dispatches):
            if d.kernel.closed or any(b.closed for b in d.buffers):
                raise VulkanError(
                    f"dispatch {i} ({d.kernel.name!r}) uses a closed kernel or buffer"
                )
        vk, handle = self._vk, self._device.handle
        if not self._sealed:
            try:
                self._record()
            except BaseException:
                self._free()
                raise
            self._sealed = True
        submit = vk.VkSubmitInfo(commandBufferCount=1, pCommandBuffers=[self._command_buffer])
        start = time.perf_counter()
        call("vkQueueSubmit", vk.vkQueueSubmit, self._device.queue, 1, [submit], self._fence)
        try:
            vk.vkWaitForFences(handle, 1, [self._fence], vk.VK_TRUE, int(timeout_s * 1e9))
        except vk.VkTimeout as exc:
            raise VulkanError(f"the GPU did not finish the sequence within {timeout_s} s") from exc
        except (vk.VkError, vk.VkException) as exc:
            raise VulkanError(f"vkWaitForFences failed: {type(exc).__name__}") from exc
        wall_ms = (time.perf_counter() - start) * 1e3
        call("vkResetFences", vk.vkResetFences, handle, 1, [self._fence])
        if not self.timestamps:
            return SubmitResult(None, None, wall_ms)
        ticks = self._read_timestamps(vk, handle)
        bits = self._device.info.timestamp_valid_bits
        mask = np.uint64((1 << bits) - 1) if bits < 64 else np.uint64(2**64 - 1)
        scale = self._device.info.timestamp_period_ns * 1e-6
        per = ((ticks[1::2] - ticks[0::2]) & mask).astype(np.float64) * scale
        total = float((ticks[-1] - ticks[0]) & mask) * scale
        return SubmitResult(tuple(float(t) for t in per), total, wall_ms)

    def _read_timestamps(self, vk, handle) -> np.ndarray:
        count = 2 * len(self._dispatches)
        data = vk.ffi.new("uint64_t[]", count)
        call(
            "vkGetQueryPoolResults",
            vk.vkGetQueryPoolResults,
            handle,
            self._query_pool,
            0,
            count,
            8 * count,
            data,
            8,
            vk.VK_QUERY_RESULT_64_BIT | vk.VK_QUERY_RESULT_WAIT_BIT,
        )
        return np.frombuffer(vk.ffi.buffer(data), dtype=np.uint64).copy()

    # -- lifetime ---------------------------------------------------------------
    def _is_open(self) -> bool:
        return not self._closed

    def _destroy(self) -> None:
        self._closed = True
        self._free()
        self._dispatches = []

    def _free(self) -> None:
        vk = self._vk
        handle = self._device.handle
        if self._fence is not None:
            vk.vkDestroyFence(handle, self._fence, None)
        if self._query_pool is not None:
            vk.vkDestroyQueryPool(handle, self._query_pool, None)
        if self._descriptor_pool is not None:
            vk.vkDestroyDescriptorPool(handle, self._descriptor_pool, None)
        if self._command_pool is not None:
            vk.vkDestroyCommandPool(handle, self._command_pool, None)
        self._fence = self._query_pool = self._descriptor_pool = self._command_pool = None
        self._command_buffer = None

    def __repr__(self):
        return f"<CommandSequence {len(self._dispatches)} dispatches{' timed' if self.timestamps else ''}>"
