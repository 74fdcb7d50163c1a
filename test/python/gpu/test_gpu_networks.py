"""Whole VGG-16, ResNet-50 and MobileNet-V2 (32x32 inputs) on lavapipe against torch.

Opt-in (set PATTERN_MLIR_SLOW_TESTS=1): torch-mlir's export alone takes 20-90 s per
network here, far over the suite's time budget. The sample models in
test_gpu_models.py cover the same op families at small sizes on every run.
"""

from __future__ import annotations

import os

import pytest
from gpu_testlib import relative_error
from pattern_mlir.gpu import compile_for_vulkan
from pattern_mlir.gpu.pattern_import import (
    candidate_library,
    export_linalg,
    pack_pattern_convs,
    prune_to_patterns,
)
from pattern_mlir.gpu.sample_models import NETWORKS, make_network

pytestmark = pytest.mark.skipif(
    os.environ.get("PATTERN_MLIR_SLOW_TESTS") != "1",
    reason="whole networks are slow on lavapipe; set PATTERN_MLIR_SLOW_TESTS=1",
)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_network_matches_torch(name, device):
    model, x = make_network(name)
    library = candidate_library(8)
    prune_to_patterns(model, library, connectivity=3.6)
    want = model(x).detach().numpy()
    text, packed = pack_pattern_convs(export_linalg(model, x), library)
    assert packed > 0
    with compile_for_vulkan(text, device=device) as exe:
        err = relative_error(exe(x.numpy())[0], want)
    assert err <= 1e-3, f"{name}: relative error {err}"
