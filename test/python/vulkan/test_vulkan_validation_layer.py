"""The runtime's Vulkan usage is clean under the Khronos validation layer.

Why: lavapipe executes dispatches in order and forgives missing barriers, wrong
descriptor ranges and leaked objects that a phone driver will not. Running the same
workload with ``VK_LAYER_KHRONOS_validation`` (synchronisation validation on) in a
child process catches those here. Needs Debian ``vulkan-validationlayers``.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_PYTHON_DIR = str(Path(__file__).resolve().parents[3] / "python")
_LAYER = "VK_LAYER_KHRONOS_validation"

_WORKLOAD = textwrap.dedent(
    """
    import math, sys
    import numpy as np
    from pattern_mlir.runtime.vulkan import VulkanDevice

    kernels = open(sys.argv[1], "rb").read()
    push = open(sys.argv[2], "rb").read()
    n = 100_000
    with VulkanDevice() as dev:
        add = dev.kernel(kernels, "add")
        conv = dev.kernel(kernels, "conv2d")
        affine = dev.kernel(push)
        x = dev.upload(np.ones(n, np.float32))
        y, z = dev.buffer(n), dev.buffer(n)
        cin = dev.upload(np.ones((16, 34, 34), np.float32))
        cw = dev.upload(np.ones((32, 16, 3, 3), np.float32))
        cout = dev.buffer((32, 32, 32))
        with dev.sequence(timestamps=True) as seq:
            seq.dispatch(add, [x, x, y], math.ceil(n / 64))
            seq.dispatch(conv, [cin, cw, cout], (4, 4, 32))
            seq.dispatch(add, [y, x, y], math.ceil(n / 64))
            seq.dispatch(add, [y, x, z], math.ceil(n / 64))
            params = np.array([2.0, 1.0, 0.0], np.float32)
            params[2:].view(np.int32)[0] = 1024
            seq.dispatch(affine, [z, y], 16, push_constants=params)
            for _ in range(2):
                seq.submit()
        assert (y.download()[:1024] == 9.0).all(), y.download()[:4]
        assert (cout.download() == 144.0).all()
        x.close()
    print("WORKLOAD-OK")
    """
)


def _layer_installed() -> bool:
    dirs = ["/usr/share/vulkan/explicit_layer.d", "/etc/vulkan/explicit_layer.d"]
    dirs += os.environ.get("VK_LAYER_PATH", "").split(os.pathsep)
    return any(glob.glob(os.path.join(d, "*khronos_validation*.json")) for d in dirs if d)


def test_workload_is_clean_under_validation_layer(device, kernels_spirv, push_spirv, tmp_path):
    if not _layer_installed():
        pytest.skip(f"{_LAYER} not installed (Debian package vulkan-validationlayers)")
    (tmp_path / "kernels.spv").write_bytes(kernels_spirv)
    (tmp_path / "push.spv").write_bytes(push_spirv)
    env = dict(
        os.environ,
        PYTHONPATH=_PYTHON_DIR,
        VK_INSTANCE_LAYERS=_LAYER,
        VK_LAYER_ENABLES="VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT",
    )
    proc = subprocess.run(
        [sys.executable, "-c", _WORKLOAD, tmp_path / "kernels.spv", tmp_path / "push.spv"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "WORKLOAD-OK" in proc.stdout
    assert "Validation Error" not in output and "VUID" not in output, output
