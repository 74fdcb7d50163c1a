"""spirv_tools: serialisation from MLIR, validation, disassembly, profile checks."""

from __future__ import annotations

import dataclasses

import pytest
from pattern_mlir.backend import spirv_tools
from pattern_mlir.backend.spirv_tools import (
    ADRENO_640,
    SpirvProfileError,
    SpirvToolError,
    SpirvValidationError,
)
from pattern_mlir.runtime.vulkan_spirv_reflect import MAGIC, SpirvFormatError, as_words
from vulkan_test_kernels import add_kernel, gpu_module


def _with_capability(cap: str, dtype: str) -> bytes:
    """An add kernel over ``dtype`` built for Adreno plus ``cap`` (so it lowers)."""
    profile = dataclasses.replace(ADRENO_640, capabilities=ADRENO_640.capabilities | {cap})
    return spirv_tools.serialize_spirv_module(
        gpu_module([add_kernel(16, dtype=dtype)], profile.target_env())
    )


def test_serialised_module_is_valid_vulkan_spirv(kernels_spirv):
    assert as_words(kernels_spirv)[0] == MAGIC
    spirv_tools.validate(kernels_spirv, target_env="vulkan1.1")
    spirv_tools.check_profile(kernels_spirv, ADRENO_640)


def test_capabilities_and_extensions_are_parsed_from_words(kernels_spirv):
    caps, exts = spirv_tools.capabilities_and_extensions(kernels_spirv)
    assert "Shader" in caps
    assert exts == ("SPV_KHR_storage_buffer_storage_class",)
    text = spirv_tools.disassemble(kernels_spirv)
    for cap in caps:
        assert f"OpCapability {cap}" in text


def test_disassembly_names_every_entry_point(kernels_spirv):
    text = spirv_tools.disassemble(kernels_spirv)
    for name in ("add", "conv2d", "probe"):
        assert f'OpEntryPoint GLCompute %{name} "{name}"' in text


@pytest.mark.parametrize(("cap", "dtype"), [("Float64", "f64"), ("Int64", "i64")])
def test_profile_rejects_capability_outside_adreno(cap, dtype):
    spirv = _with_capability(cap, dtype)
    spirv_tools.validate(spirv)
    assert cap in spirv_tools.capabilities_and_extensions(spirv)[0]
    with pytest.raises(SpirvProfileError, match=rf"capability {cap} not in the profile"):
        spirv_tools.check_profile(spirv, ADRENO_640)


def test_profile_rejects_oversized_workgroup():
    small = dataclasses.replace(ADRENO_640, max_workgroup_invocations=32)
    spirv = spirv_tools.serialize_spirv_module(
        gpu_module([add_kernel(16, workgroup=64)], ADRENO_640.target_env())
    )
    with pytest.raises(SpirvProfileError, match=r"workgroup size \[64, 1, 1\]"):
        spirv_tools.check_profile(spirv, small)


def test_profile_rejects_newer_spirv_version(kernels_spirv):
    words = as_words(kernels_spirv)
    words[1] = 0x00010500  # claim SPIR-V 1.5
    with pytest.raises(SpirvProfileError, match=r"version 1\.5 > 1\.3"):
        spirv_tools.check_profile(words)


def test_target_env_matches_design_profile():
    env = ADRENO_640.target_env()
    assert env.startswith(
        "#spirv.target_env<#spirv.vce<v1.3, [Shader, Int16, GroupNonUniform, "
        "GroupNonUniformVote, VariablePointers, VariablePointersStorageBuffer], "
    )
    assert "max_compute_workgroup_size = [1024, 1024, 64]" in env
    assert "max_compute_shared_memory_size = 32768" in env
    assert "subgroup_size = 64" in env


_PUSH_SCALAR = """
    gpu.func @scale(%a: memref<16xf32> {spirv.interface_var_abi = #spirv.interface_var_abi<(0, 0)>},
                    %s: f32 {spirv.interface_var_abi = #spirv.interface_var_abi<(0, 1), PushConstant>})
        kernel attributes {spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [16, 1, 1]>} {
      %i = gpu.thread_id x
      %x = memref.load %a[%i] : memref<16xf32>
      %y = arith.mulf %x, %s : f32
      memref.store %y, %a[%i] : memref<16xf32>
      gpu.return
    }"""


def test_validator_message_is_reported():
    # A scalar given PushConstant storage through interface_var_abi keeps its
    # Binding decoration, which Vulkan forbids: upstream cannot make push constants.
    spirv = spirv_tools.serialize_spirv_module(gpu_module([_PUSH_SCALAR], ADRENO_640.target_env()))
    with pytest.raises(SpirvValidationError, match="spirv-val --target-env vulkan1.1") as info:
        spirv_tools.validate(spirv)
    assert "Binding decoration" in info.value.messages
    assert "scale_arg_1" in str(info.value)


def test_not_spirv_is_rejected():
    with pytest.raises(SpirvFormatError, match="magic number"):
        as_words(b"\0" * 20)
    with pytest.raises(SpirvFormatError, match="32-bit words"):
        as_words(b"\x03\x02\x23\x07\0")


def test_serialise_errors_are_clear():
    with pytest.raises(SpirvToolError, match="no spirv.module"):
        spirv_tools.serialize_spirv_module("module {}")
    with pytest.raises(SpirvToolError, match="cannot parse MLIR"):
        spirv_tools.serialize_spirv_module("module { not mlir")
    two = gpu_module([add_kernel(8)], ADRENO_640.target_env(), name="one")
    two = two.replace("module attributes {gpu.container_module} {\n", "", 1).rsplit("}", 1)[0]
    other = gpu_module([add_kernel(8)], ADRENO_640.target_env(), name="two")
    both = other.rsplit("}", 1)[0] + two + "}\n"
    with pytest.raises(SpirvToolError, match="pass name="):
        spirv_tools.serialize_spirv_module(both)
    assert as_words(spirv_tools.serialize_spirv_module(both, name="one"))[0] == MAGIC
