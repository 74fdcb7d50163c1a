"""Fixtures of the GPU path tests.

One Vulkan device serves the whole session (lavapipe pipeline creation dominates
small tests). Tests that need a device skip only when VulkanDevice raises
VulkanUnavailableError, with its message as the reason; any other failure fails.
The sample models are pruned and exported once per session, in one torch-mlir
child process (starting it costs seconds).
"""

from __future__ import annotations

import pytest
from gpu_testlib import CONNECTIVITY, LIBRARY
from pattern_mlir.gpu.pattern_import import export_linalg_many, prune_to_patterns
from pattern_mlir.gpu.sample_models import SAMPLES, make_sample
from pattern_mlir.runtime.vulkan import VulkanDevice, VulkanUnavailableError


@pytest.fixture(scope="session")
def device():
    try:
        dev = VulkanDevice()
    except VulkanUnavailableError as exc:
        pytest.skip(f"VulkanUnavailableError: {exc}")
    yield dev
    dev.close()


@pytest.fixture(scope="session")
def sample_exports():
    """{name: (pruned model, input, torch output, linalg text)} of every sample model."""
    cases = {}
    for name in sorted(SAMPLES):
        model, x = make_sample(name)
        prune_to_patterns(model, LIBRARY, CONNECTIVITY)
        cases[name] = (model, x, model(x).detach().numpy())
    texts = export_linalg_many([(m, x) for m, x, _ in cases.values()])
    return {name: (*case, text) for (name, case), text in zip(cases.items(), texts)}
