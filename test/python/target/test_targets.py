"""The target descriptions: records, host detection, and code sized for each register file.

Every CPU target compiles a pattern-pruned model (3x3 pattern convs, 1x1 convs, pooling, a
linear layer) that matches torch: x86-64-v3 and x86-64-v4 in this process where the CPU runs
them, arm64-neon under qemu. The assembly of its pattern-conv and dense kernels holds no vector register
spilled to the stack, and the x86-64-v3 build uses no 512-bit register in the JIT or in the
saved library.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import torch
from pattern_mlir import CompileOptions, compile, load, prune
from pattern_mlir.backend.host_jit import jit_compile
from pattern_mlir.target import (
    CPU_TARGETS,
    TARGET_NAMES,
    UnsupportedHostError,
    host_isa_level,
    registry,
    resolve_target,
    runs_on_host,
)
from pattern_mlir.target.spills import vector_spills

V4_FLAGS = {
    "avx",
    "avx2",
    "fma",
    "bmi1",
    "bmi2",
    "f16c",
    "movbe",
    "avx512f",
    "avx512bw",
    "avx512cd",
    "avx512dq",
    "avx512vl",
}


def test_every_target_has_a_record():
    for name in TARGET_NAMES:
        target = resolve_target(name)
        assert target.name == name and target.isa
        if target.kind == "cpu":
            assert target.triple and target.cpu and target.vector_registers and target.lanes >= 4
    with pytest.raises(ValueError, match="unknown target 'avx3'.*x86-64-v3"):
        resolve_target("avx3")


def test_gpu_target_names_its_spirv_profile():
    from pattern_mlir.backend.spirv_tools import SPIRV_PROFILES

    profile = SPIRV_PROFILES[resolve_target("vulkan-adreno").spirv_profile]
    assert profile.version == (1, 3) and "Float64" not in profile.capabilities


def test_register_blocks_fit_each_register_file():
    v3, v4, neon = (resolve_target(n) for n in ("x86-64-v3", "x86-64-v4", "arm64-neon"))
    assert (v3.lanes, v4.lanes, neon.lanes) == (8, 16, 4)
    assert (v3.pattern_accumulators, v4.pattern_accumulators, neon.pattern_accumulators) == (
        8,
        16,
        20,
    )
    assert (v3.gemm_block, v4.gemm_block, neon.gemm_block) == ((4, 3), (6, 4), (6, 4))
    for target in (v3, v4, neon):
        rows, vectors = target.gemm_block
        assert rows * vectors + vectors + 1 <= target.vector_registers
        assert rows * vectors >= target.fma_in_flight <= target.pattern_accumulators
        assert target.fma_in_flight <= target.peak_accumulators <= target.vector_registers - 4
    assert v3.peak_accumulators == 12 and v4.peak_accumulators == 16


def test_host_level_from_cpu_flags(monkeypatch):
    monkeypatch.setattr(registry.platform, "machine", lambda: "x86_64")
    monkeypatch.delenv(registry.HOST_LEVEL_ENV, raising=False)
    assert host_isa_level(V4_FLAGS) == "x86-64-v4"
    assert host_isa_level(V4_FLAGS - {"avx512bw"}) == "x86-64-v3"
    assert host_isa_level({"sse2", "avx"}) is None
    # The variable caps the level (an AVX-512 machine tested as an AVX2 one), never raises it.
    monkeypatch.setenv(registry.HOST_LEVEL_ENV, "x86-64-v3")
    assert host_isa_level(V4_FLAGS) == "x86-64-v3"
    assert host_isa_level({"sse2", "avx"}) is None
    monkeypatch.setenv(registry.HOST_LEVEL_ENV, "avx9")
    with pytest.raises(ValueError, match="not an x86-64 level"):
        host_isa_level(V4_FLAGS)


def test_host_without_avx2_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(registry, "_host_flags", lambda: {"sse2", "sse4_2", "avx"})
    registry.host_target.cache_clear()
    try:
        with pytest.raises(UnsupportedHostError, match="AVX2 and FMA.*arm64-neon"):
            resolve_target("host")
        with pytest.raises(UnsupportedHostError):
            compile(torch.nn.ReLU(), (torch.zeros(4),), target="host")
    finally:
        registry.host_target.cache_clear()


def _jit_asm(target: str, tmp_path) -> str:
    text = """
    func.func @axpy(%a: memref<64xf32>, %b: memref<64xf32>) attributes {llvm.emit_c_interface} {
      %c0 = arith.constant 0 : index
      %x = vector.load %a[%c0] : memref<64xf32>, vector<16xf32>
      %y = vector.load %b[%c0] : memref<64xf32>, vector<16xf32>
      %r = vector.fma %x, %y, %y : vector<16xf32>
      vector.store %r, %a[%c0] : memref<64xf32>, vector<16xf32>
      return
    }"""
    path = tmp_path / f"{target}.o"
    jit_compile(text, target=target).dump_object(str(path))
    return subprocess.run(
        ["objdump", "-d", str(path)], capture_output=True, text=True, check=True
    ).stdout


def test_jit_generates_the_targets_isa(tmp_path):
    """The JIT's TargetMachine is the host's; the functions' attributes pick the ISA, also in
    the entry wrappers the engine adds."""
    if not runs_on_host(resolve_target("x86-64-v3")):
        pytest.skip("this CPU does not run x86-64-v3")
    v3 = _jit_asm("x86-64-v3", tmp_path)
    assert "ymm" in v3 and "zmm" not in v3
    if runs_on_host(resolve_target("x86-64-v4")):
        assert "zmm" in _jit_asm("x86-64-v4", tmp_path)


@pytest.fixture(scope="module")
def pruned_model():
    torch.manual_seed(0)
    # A pattern conv on 56x56 (on AVX2 a wide-row block: 2 rows x 4 vectors), one on
    # 28x28; a 1x1 conv on 28x28 (implicit GEMM), one on 1x1 (pixels x filters), a linear layer.
    pools = [torch.nn.MaxPool2d(2) for _ in range(4)]  # 28 -> 14 -> 7 -> 3 -> 1
    model = torch.nn.Sequential(
        torch.nn.Conv2d(64, 64, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(64, 64, 1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(64, 64, 3, padding=1),
        *pools,
        torch.nn.Conv2d(64, 64, 1),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 32),
    ).eval()
    prune.project(model, num_patterns=8, connectivity=2.0)
    x = torch.randn(1, 64, 56, 56)
    with torch.no_grad():
        return model, x, model(x)


def _kernel_spills(asm: str, triple: str) -> dict[str, list[str]]:
    """Vector stack accesses in the generated kernels (the C-interface wrappers copy
    descriptors through the stack by design)."""
    spills = {**vector_spills(asm, triple, "pattern_conv"), **vector_spills(asm, triple, "dense_")}
    return {name: lines for name, lines in spills.items() if "ciface" not in name and lines}


@pytest.mark.parametrize("target", [t for t in CPU_TARGETS if t != "host"])
def test_model_matches_torch_without_spills(target, pruned_model, tmp_path):
    description = resolve_target(target)
    if target.startswith("x86") and not runs_on_host(description):
        pytest.skip(f"this CPU does not run {target}")
    if target == "arm64-neon" and shutil.which("qemu-aarch64") is None:
        pytest.skip("qemu-aarch64 is not installed")
    model, x, expected = pruned_model
    exe = compile(model, (x,), target=target, options=CompileOptions(num_threads=1))
    assert exe.target == target and "pattern.packed_conv2d" in exe.ir("packed")
    np.testing.assert_allclose(exe(x).numpy(), expected.numpy(), rtol=1e-4, atol=1e-4)
    if target == "arm64-neon":
        asm = exe.ir("asm")
    else:
        saved = exe.save(tmp_path / "saved")
        np.testing.assert_allclose(load(saved)(x).numpy(), expected.numpy(), rtol=1e-4, atol=1e-4)
        asm = subprocess.run(
            ["objdump", "-d", str(saved / "libmodel.so")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert ("zmm" in asm) == (description.vector_bits == 512)
    kernels = [
        name
        for name in vector_spills(asm, description.triple)
        if "pattern_conv" in name or "dense_" in name
    ]
    assert len(kernels) >= 6, kernels
    assert _kernel_spills(asm, description.triple) == {}


def test_load_refuses_a_library_for_a_level_this_cpu_lacks(tmp_path, monkeypatch):
    """A saved x86 library names its level; on a CPU without it, load() says so instead of
    dying of an illegal instruction."""
    if not runs_on_host(resolve_target("x86-64-v3")):
        pytest.skip("this CPU does not run x86-64-v3")
    model, x = torch.nn.Linear(8, 4).eval(), torch.randn(1, 8)
    saved = compile(model, (x,), target="x86-64-v3", options=CompileOptions(num_threads=1)).save(
        tmp_path / "v3"
    )
    assert '"cpu": "x86-64-v3"' in (saved / "manifest.json").read_text()
    np.testing.assert_allclose(
        load(saved)(x).numpy(), model(x).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    monkeypatch.setattr(registry, "host_isa_level", lambda flags=None: None)  # a CPU without AVX2
    with pytest.raises(ValueError, match="x86-64-v3.*this CPU does not run"):
        load(saved)
