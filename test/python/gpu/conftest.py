"""Fixtures of the GPU path tests.

One Vulkan device serves the whole session (lavapipe pipeline creation dominates
small tests). Tests that need a device skip only when VulkanDevice raises
VulkanUnavailableError, with its message as the reason; any other failure fails.
"""

from __future__ import annotations

import pytest
from pattern_mlir.runtime.vulkan import VulkanDevice, VulkanUnavailableError


@pytest.fixture(scope="session")
def device():
    try:
        dev = VulkanDevice()
    except VulkanUnavailableError as exc:
        pytest.skip(f"VulkanUnavailableError: {exc}")
    yield dev
    dev.close()
