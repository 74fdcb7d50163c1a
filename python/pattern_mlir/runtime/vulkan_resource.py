"""The lifetime every Vulkan object a device hands out shares (buffers, kernels, sequences).

The device keeps a list of what it handed out and closes what is still open when it closes
itself (Vulkan objects must go before their device); an object closed first frees its handles
once and leaves that list, so the device never frees it twice.
"""

from __future__ import annotations


class DeviceResource:
    """Base of an object owned by a ``VulkanDevice``: ``close()`` (idempotent, the device idle)
    and ``with``. A subclass sets ``_device`` and gives ``_is_open`` and ``_destroy``."""

    _device: object

    def _is_open(self) -> bool:
        raise NotImplementedError

    def _destroy(self) -> None:
        """Free the Vulkan handles; called once, by close()."""
        raise NotImplementedError

    def close(self) -> None:
        """Free the object's Vulkan handles (idempotent); the device must be idle for it."""
        if not self._is_open():
            return
        self._destroy()
        self._device.disown(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
