"""Fixtures for the Vulkan runtime and SPIR-V tooling tests.

Why session scope: one device and one compiled module serve every test, which keeps
the suite fast on lavapipe (pipeline creation and the first dispatch of a shader
dominate). Tests that need a device skip only when VulkanDevice raises
VulkanUnavailableError, with its message as the reason; any other failure fails.
"""

from __future__ import annotations

import shutil

import pytest
from pattern_mlir.backend import spirv_tools
from pattern_mlir.runtime.vulkan import VulkanDevice, VulkanUnavailableError
from vulkan_test_kernels import (
    ADD_N,
    CONV_SHAPE,
    PUSH_CONSTANT_SPIRV_MODULE,
    abi_probe_kernel,
    add_kernel,
    conv2d_kernel,
    gpu_module,
)


@pytest.fixture(scope="session")
def device():
    """The best Vulkan device here (lavapipe in CI); skipped only if Vulkan is absent."""
    try:
        dev = VulkanDevice()
    except VulkanUnavailableError as exc:
        pytest.skip(f"VulkanUnavailableError: {exc}")
    yield dev
    dev.close()


@pytest.fixture(scope="session")
def kernels_mlir() -> str:
    """add, conv2d and the ABI probe in one gpu.module for the Adreno 640 profile."""
    if shutil.which("spirv-val") is None:
        pytest.fail("spirv-val missing: install Debian package spirv-tools")
    funcs = [add_kernel(ADD_N), conv2d_kernel(**CONV_SHAPE), abi_probe_kernel()]
    return gpu_module(funcs, spirv_tools.ADRENO_640.target_env())


@pytest.fixture(scope="session")
def kernels_spirv(kernels_mlir) -> bytes:
    """The serialised SPIR-V of ``kernels_mlir`` (three entry points)."""
    return spirv_tools.serialize_spirv_module(kernels_mlir)


@pytest.fixture(scope="session")
def push_spirv() -> bytes:
    """A hand-written SPIR-V-dialect kernel that reads a 12-byte push-constant block."""
    return spirv_tools.serialize_spirv_module(PUSH_CONSTANT_SPIRV_MODULE)
