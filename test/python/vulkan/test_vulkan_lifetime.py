"""Deterministic freeing, and a clear error on machines without Vulkan."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from pattern_mlir.runtime.vulkan import VulkanDevice, VulkanError

_PYTHON_DIR = str(Path(__file__).resolve().parents[3] / "python")


def test_device_close_frees_everything(device, kernels_spirv):
    # `device` only proves Vulkan exists; this test owns a second device.
    with VulkanDevice() as dev:
        buf = dev.upload(np.arange(4, dtype=np.float32))
        kernel = dev.kernel(kernels_spirv, "add")
        seq = dev.sequence()
        assert not buf.closed and not kernel.closed
    assert dev.closed and buf.closed and kernel.closed
    with pytest.raises(VulkanError, match="closed"):
        buf.download()
    with pytest.raises(VulkanError, match="closed"):
        dev.buffer(4)
    with pytest.raises(VulkanError, match="closed"):
        seq.dispatch(kernel, [buf, buf, buf], 1)
    dev.close()  # idempotent


def test_closed_buffer_in_recorded_sequence(device, kernels_spirv):
    with VulkanDevice() as dev:
        kernel = dev.kernel(kernels_spirv, "add")
        bufs = [dev.buffer(100_000) for _ in range(3)]
        with dev.sequence() as seq:
            seq.dispatch(kernel, bufs, 1)
            seq.submit()
            bufs[1].close()
            with pytest.raises(VulkanError, match=r"dispatch 0 \('add'\) uses a closed"):
                seq.submit()


def test_buffer_round_trip_keeps_shape_and_dtype(device):
    for dtype in (np.float32, np.int32, np.float16, np.uint8, np.int64):
        x = (np.arange(30) % 7).astype(dtype).reshape(2, 3, 5)
        with device.upload(x) as buf:
            y = buf.download()
            assert y.dtype == x.dtype and y.shape == x.shape
            np.testing.assert_array_equal(y, x)
    with device.buffer((0,)) as empty:
        assert empty.download().shape == (0,) and empty.size == 4


def test_no_driver_raises_vulkan_unavailable():
    script = textwrap.dedent(
        """
        from pattern_mlir.runtime.vulkan import VulkanDevice, VulkanUnavailableError
        try:
            VulkanDevice()
        except VulkanUnavailableError as exc:
            print("UNAVAILABLE:", exc)
        """
    )
    env = dict(os.environ, PYTHONPATH=_PYTHON_DIR, VK_ICD_FILENAMES="/nonexistent/icd.json")
    env["VK_DRIVER_FILES"] = env["VK_ICD_FILENAMES"]
    proc = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "UNAVAILABLE:" in proc.stdout
    assert "driver" in proc.stdout  # says what is missing
