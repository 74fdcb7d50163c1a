"""Exceptions of the Vulkan runtime, and the one place that calls into the binding.

Why: the PyPI ``vulkan`` binding raises bare classes such as ``VkErrorDeviceLost``
with no message, and its import raises ``OSError`` when ``libvulkan.so.1`` is
missing. Callers need to know *which* call failed and whether the machine simply
has no Vulkan (tests skip then, and only then).
"""

from __future__ import annotations

import functools


class VulkanError(RuntimeError):
    """A Vulkan call failed or the runtime was used wrongly; the message says which."""


class VulkanUnavailableError(VulkanError):
    """This machine cannot run Vulkan compute (no loader, no driver, no 1.1 device)."""


@functools.cache
def binding():
    """The imported ``vulkan`` module; VulkanUnavailableError if it cannot load."""
    try:
        import vulkan
    except ImportError as exc:
        raise VulkanUnavailableError(
            "the Python package 'vulkan' is not installed (pip install vulkan==1.3.275.1)"
        ) from exc
    except OSError as exc:
        raise VulkanUnavailableError(
            f"the Vulkan loader libvulkan.so.1 cannot be loaded ({exc}); install "
            "libvulkan1 and a driver (e.g. Debian mesa-vulkan-drivers for lavapipe)"
        ) from exc
    return vulkan


def _binding_errors() -> tuple[type[BaseException], ...]:
    vk = binding()
    return (vk.VkError, vk.VkException, vk.ProcedureNotFoundError)


def call(what: str, fn, *args):
    """Call ``fn(*args)``; turn a binding failure into VulkanError naming ``what``."""
    try:
        return fn(*args)
    except _binding_errors() as exc:
        raise VulkanError(f"{what} failed: {type(exc).__name__} {exc}".rstrip()) from exc
