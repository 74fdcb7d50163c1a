"""Fixtures of the GPU path tests.

One Vulkan device serves the kernel-level tests (lavapipe pipeline creation dominates
small tests). Tests that need a device skip only when Vulkan raises
VulkanUnavailableError, with its message as the reason; any other failure fails.
Zoo models are compiled through `pattern_mlir.compile(..., target="vulkan-adreno")`
once per session, with every stage's full IR saved (`save_temps`), so a test can also
run a variant of the GPU stages on the front end's output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pattern_mlir
import pytest
import torch
from pattern_mlir import models, prune
from pattern_mlir.runtime.vulkan import VulkanDevice, VulkanUnavailableError


@pytest.fixture(scope="session")
def device():
    try:
        dev = VulkanDevice()
    except VulkanUnavailableError as exc:
        pytest.skip(f"VulkanUnavailableError: {exc}")
    yield dev
    dev.close()


@dataclass
class Compiled:
    model: torch.nn.Module
    x: torch.Tensor
    expected: torch.Tensor
    exe: object  # the Executable compile() returned
    temps: Path  # every stage's full IR, <stage>.mlir

    def stage_text(self, stage: str) -> str:
        return (self.temps / f"{stage}.mlir").read_text()


@pytest.fixture(scope="session")
def zoo(tmp_path_factory):
    """`zoo(name, patterns=True)`: zoo model `name` at its small input, BatchNorm statistics
    random, 3x3 convs projected onto 8 patterns at connectivity 3.6 (where it has any),
    compiled for vulkan-adreno (`patterns=False`: with CompileOptions(patterns=False))."""
    cache = {}

    def get(name: str, patterns: bool = True) -> Compiled:
        if (name, patterns) not in cache:
            model, x = models.build(name, small=True, random_bn=True)
            if any(
                isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3) for m in model.modules()
            ):
                prune.project(model, num_patterns=8, connectivity=3.6)
            temps = tmp_path_factory.mktemp(f"{name}-{'pattern' if patterns else 'dense'}")
            options = pattern_mlir.CompileOptions(patterns=patterns, save_temps=str(temps))
            try:
                exe = pattern_mlir.compile(model, x, target="vulkan-adreno", options=options)
            except VulkanUnavailableError as exc:
                pytest.skip(f"VulkanUnavailableError: {exc}")
            with torch.no_grad():
                expected = model(x)
            cache[name, patterns] = Compiled(model, x, expected, exe, temps)
        return cache[name, patterns]

    yield get
    for compiled in cache.values():
        compiled.exe.program.close()
