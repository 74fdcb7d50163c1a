"""Every emitted module is valid Vulkan SPIR-V that fits the Adreno 640 profile.

Also pins what makes results independent of the subgroup size (lavapipe 8,
Adreno 64): no GroupNonUniform* capability is ever declared, so no kernel uses a
subgroup operation; and workgroup sizes and shared memory stay in the profile.
"""

from __future__ import annotations

import numpy as np
import pytest
from gpu_testlib import ConvCase, conv_module, make_layer
from pattern_mlir.backend.spirv_tools import (
    ADRENO_640,
    capabilities_and_extensions,
    check_profile,
    validate,
)
from pattern_mlir.gpu import compile_to_spirv


def _conv_program(staged):
    case = ConvCase(1, 24, 14, 14, 12, 1, (1, 1, 1, 1), 1, 8, 2.0, "relu")
    text = conv_module(case, *make_layer(case, np.random.default_rng(3)))
    return compile_to_spirv(text, staged=staged)


@pytest.fixture(scope="module", params=["staged", "direct", "mobilenet-v2", "style-transfer"])
def program(request, zoo):
    if request.param in ("staged", "direct"):
        return _conv_program(request.param == "staged")
    return zoo(request.param).exe.program.program


def test_binaries_validate_and_fit_profile(program):
    assert program.binaries
    for name, binary in program.binaries.items():
        validate(binary, "vulkan1.1")
        check_profile(binary, ADRENO_640)
        capabilities, _ = capabilities_and_extensions(binary)
        assert not [c for c in capabilities if c.startswith("GroupNonUniform")], name


def test_kernels_fit_limits(program):
    for kernel in program.kernels:
        x, y, z = kernel.workgroup_size
        assert x * y * z <= ADRENO_640.max_workgroup_invocations
        assert kernel.shared_memory_bytes <= ADRENO_640.max_shared_memory_bytes
        assert all(1 <= g <= 65535 for g in kernel.workgroup_count)


def test_staged_variant_uses_shared_memory():
    staged, direct = _conv_program(True), _conv_program(False)
    assert staged.kernels[0].shared_memory_bytes > 0
    assert direct.kernels[0].shared_memory_bytes == 0
