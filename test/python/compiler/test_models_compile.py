"""Every zoo model compiles, dense and pattern-projected, for host and arm64, and matches torch.

Small inputs keep the suite fast; the whole-model benchmark runs the default sizes.
"""

import pattern_mlir
import pytest
import torch
from conv_cases import relative_error
from pattern_mlir import models, prune

NAMES = [name for name in models.MODELS if name != "fashion-cnn"]
# Weights reach arm64 libraries as raw bytes (backend/weight_blob.py), so even VGG-16
# builds in about 20 s; the small inputs keep the qemu runs to seconds.
ARM64_NAMES = [*NAMES, "fashion-cnn"]
# Models without 3x3 convs have nothing to project: they run dense only.
NO_3X3 = {"patch-transformer", "row-lstm"}
CASES = [
    (n, t, p)
    for t, names in (("host", NAMES), ("arm64-neon", ARM64_NAMES))
    for p in (True, False)
    for n in names
    if not (p and n in NO_3X3)
]


def _model(name: str, projected: bool):
    model, x = models.build(name, small=True, random_bn=True)
    if projected:
        spec = prune.project(model, num_patterns=8, connectivity=3.6)
        assert spec.layers, f"{name}: no 3x3 conv was projected"
    return model, x


@pytest.mark.parametrize("name, target, projected", CASES)
def test_model_matches_torch(name, target, projected):
    model, x = _model(name, projected)
    options = pattern_mlir.CompileOptions(num_threads=1, patterns=projected)
    exe = pattern_mlir.compile(model, x, target=target, options=options)
    with torch.no_grad():
        expected = model(x)
    assert relative_error(exe(x), expected) <= 1e-4
    if projected:
        assert "pattern.conv2d" in exe.ir("pattern")
