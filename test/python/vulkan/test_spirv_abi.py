"""Pin down the kernel-argument ABI of convert-gpu-to-spirv that the compiler relies on.

See the module docstring of pattern_mlir.backend.spirv_tools for the prose version.
"""

from __future__ import annotations

from pattern_mlir.backend import spirv_tools
from pattern_mlir.backend.spirv_tools import ADRENO_640
from pattern_mlir.runtime.vulkan_spirv_reflect import entry_point_resources, module_info
from vulkan_test_kernels import add_kernel, gpu_module


def test_every_argument_is_a_storage_buffer_at_set0_binding_by_position(kernels_spirv):
    bindings = entry_point_resources(kernels_spirv, "probe").bindings
    # probe(memref<?xf32>, f32, i32, index, memref<4x8xf32>)
    assert [(b.descriptor_set, b.binding) for b in bindings] == [(0, i) for i in range(5)]
    assert all(b.kind == "storage" for b in bindings)
    assert [b.name for b in bindings] == [f"probe_arg_{i}" for i in range(5)]


def test_memrefs_flatten_and_scalars_get_4_byte_buffers(kernels_spirv):
    dyn, s, n, idx, m = entry_point_resources(kernels_spirv, "probe").bindings
    assert (dyn.min_size, dyn.runtime_stride, dyn.element) == (0, 4, "f32")  # rtarray
    assert (s.min_size, s.runtime_stride, s.element) == (4, None, "f32")
    assert (n.min_size, n.element) == (4, "i32")
    assert (idx.min_size, idx.element) == (4, "i32")  # index lowers to i32
    assert (m.min_size, m.runtime_stride, m.element) == (4 * 8 * 4, None, "f32")


def test_each_kernel_of_a_module_is_an_entry_point_with_its_own_bindings(kernels_spirv):
    info = module_info(kernels_spirv)
    assert [e.name for e in info.entry_points] == ["add", "conv2d", "probe"]
    assert {e.name: e.local_size for e in info.entry_points} == {
        "add": (64, 1, 1),
        "conv2d": (8, 8, 1),
        "probe": (8, 1, 1),
    }
    for name in ("add", "conv2d"):
        bindings = entry_point_resources(kernels_spirv, name).bindings
        assert [b.binding for b in bindings] == [0, 1, 2]
        assert all(b.name.startswith(f"{name}_arg_") for b in bindings)
    assert entry_point_resources(kernels_spirv, "add").push_constant_size == 0


def test_update_vce_declares_only_what_is_used(kernels_spirv):
    info = module_info(kernels_spirv)
    assert info.version == (1, 0)
    assert set(info.capabilities) == {"Shader", "Matrix"}


def test_explicit_abi_on_all_arguments_renumbers_bindings():
    src = gpu_module([add_kernel(16)], ADRENO_640.target_env()).replace(
        "%a: memref<16xf32>, %b: memref<16xf32>, %c: memref<16xf32>",
        "%a: memref<16xf32> {spirv.interface_var_abi = #spirv.interface_var_abi<(1, 3)>}, "
        "%b: memref<16xf32> {spirv.interface_var_abi = #spirv.interface_var_abi<(0, 7)>}, "
        "%c: memref<16xf32> {spirv.interface_var_abi = #spirv.interface_var_abi<(0, 0)>}",
    )
    spirv = spirv_tools.serialize_spirv_module(src)
    spirv_tools.validate(spirv)
    bindings = entry_point_resources(spirv, "add").bindings
    # Sorted by (set, binding): this is the order buffers are passed to a dispatch.
    assert [(b.descriptor_set, b.binding, b.name) for b in bindings] == [
        (0, 0, "add_arg_2"),
        (0, 7, "add_arg_1"),
        (1, 3, "add_arg_0"),
    ]
