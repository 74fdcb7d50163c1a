"""Host-visible Vulkan storage buffers that hold one numpy array each.

Why host-visible: phones (Adreno, Mali) have unified memory where host-visible is
also device-local, so staging copies would only cost time; on desktop GPUs it is
slower but correct, which is what tests need. Each buffer remembers the shape and
dtype it was made for, so an upload of the wrong array and a binding to a kernel
argument of another element type fail loudly instead of producing garbage.

Sizes are always explicit (``VK_WHOLE_SIZE`` overflows in the PyPI binding); memory
stays mapped for the buffer's life; non-coherent memory is flushed/invalidated over
an allocation rounded up to ``nonCoherentAtomSize``.
"""

from __future__ import annotations

import math

import numpy as np
from pattern_mlir.runtime.vulkan_errors import VulkanError, call
from pattern_mlir.runtime.vulkan_resource import DeviceResource


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


class Buffer(DeviceResource):
    """A storage buffer sized for ``shape`` x ``dtype``; see ``VulkanDevice.buffer``."""

    def __init__(self, device, shape, dtype="float32"):
        self.dtype = np.dtype(dtype)
        if self.dtype.hasobject or self.dtype.itemsize == 0:
            raise VulkanError(f"cannot store dtype {self.dtype} in a Vulkan buffer")
        self.shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
        if any(s < 0 for s in self.shape):
            raise VulkanError(f"negative buffer shape {self.shape}")
        self.nbytes = math.prod(self.shape) * self.dtype.itemsize
        #: Bytes bound to a descriptor: at least 4, a multiple of 4.
        self.size = max(4, _round_up(self.nbytes, 4))
        self._device = device
        self._vk = vk = device.vk
        self._buffer = self._memory = None
        info = vk.VkBufferCreateInfo(
            size=self.size,
            usage=vk.VK_BUFFER_USAGE_STORAGE_BUFFER_BIT
            | vk.VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT
            | vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT
            | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT,
            sharingMode=vk.VK_SHARING_MODE_EXCLUSIVE,
        )
        handle = device.handle
        self._buffer = call("vkCreateBuffer", vk.vkCreateBuffer, handle, info, None)
        try:
            req = vk.vkGetBufferMemoryRequirements(handle, self._buffer)
            type_index, self._coherent = device.memory_type(req.memoryTypeBits)
            self._alloc_size = _round_up(req.size, device.info.non_coherent_atom_size)
            alloc = vk.VkMemoryAllocateInfo(
                allocationSize=self._alloc_size, memoryTypeIndex=type_index
            )
            what = f"vkAllocateMemory({self._alloc_size} bytes)"
            self._memory = call(what, vk.vkAllocateMemory, handle, alloc, None)
            call("vkBindBufferMemory", vk.vkBindBufferMemory, handle, self._buffer, self._memory, 0)
            mapped = call(
                "vkMapMemory", vk.vkMapMemory, handle, self._memory, 0, self._alloc_size, 0
            )
            self._bytes = np.frombuffer(mapped, dtype=np.uint8, count=self._alloc_size)
            self._bytes[:] = 0
            self._flush()
        except BaseException:
            self._destroy()
            raise
        device.own(self)

    @classmethod
    def from_array(cls, device, array) -> Buffer:
        """A buffer with ``array``'s shape and dtype, holding a copy of it."""
        array = np.asarray(array)
        buf = cls(device, array.shape, array.dtype)
        buf.upload(array)
        return buf

    @property
    def handle(self):
        """The ``VkBuffer``; VulkanError once closed."""
        if self._buffer is None:
            raise VulkanError(f"{self!r} is closed")
        return self._buffer

    @property
    def closed(self) -> bool:
        return self._buffer is None

    def _range(self):
        return self._vk.VkMappedMemoryRange(memory=self._memory, offset=0, size=self._alloc_size)

    def _flush(self):
        if not self._coherent:
            vk = self._vk
            call(
                "vkFlushMappedMemoryRanges",
                vk.vkFlushMappedMemoryRanges,
                self._device.handle,
                1,
                [self._range()],
            )

    def _invalidate(self):
        if not self._coherent:
            vk = self._vk
            call(
                "vkInvalidateMappedMemoryRanges",
                vk.vkInvalidateMappedMemoryRanges,
                self._device.handle,
                1,
                [self._range()],
            )

    def upload(self, array) -> None:
        """Copy ``array`` in; it must have this buffer's dtype and element count."""
        self.handle  # noqa: B018  (raises if closed)
        if not isinstance(array, np.ndarray):
            raise VulkanError(f"upload needs a numpy array, got {type(array).__name__}")
        if array.dtype != self.dtype:
            raise VulkanError(
                f"dtype mismatch: buffer holds {self.dtype} but the array is {array.dtype}; "
                f"convert it with array.astype(np.{self.dtype.name})"
            )
        if array.size != math.prod(self.shape):
            raise VulkanError(
                f"size mismatch: buffer holds {math.prod(self.shape)} elements "
                f"(shape {self.shape}) but the array has {array.size} (shape {array.shape})"
            )
        flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        self._bytes[: self.nbytes] = flat
        self._flush()

    def download(self) -> np.ndarray:
        """A copy of the contents as an array of this buffer's shape and dtype."""
        self.handle  # noqa: B018  (raises if closed)
        self._invalidate()
        return self._bytes[: self.nbytes].view(self.dtype).reshape(self.shape).copy()

    def _destroy(self):
        vk, handle = self._vk, self._device.handle
        self._bytes = None
        if self._memory is not None:
            vk.vkFreeMemory(handle, self._memory, None)  # implicitly unmaps
            self._memory = None
        if self._buffer is not None:
            vk.vkDestroyBuffer(handle, self._buffer, None)
            self._buffer = None

    def _is_open(self) -> bool:
        return self._buffer is not None

    def __repr__(self):
        state = " closed" if self._buffer is None else ""
        return f"<Buffer {self.dtype} {self.shape} ({self.size} bytes){state}>"
