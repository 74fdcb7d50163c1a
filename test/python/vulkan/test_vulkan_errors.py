"""Wrong inputs fail before the GPU runs, with messages that say what and where."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from pattern_mlir.backend import spirv_tools
from pattern_mlir.backend.spirv_tools import ADRENO_640
from pattern_mlir.runtime.vulkan import VulkanDevice, VulkanError
from vulkan_test_kernels import ADD_N, add_kernel, gpu_module


@pytest.fixture(scope="module")
def add(device, kernels_spirv):
    return device.kernel(kernels_spirv, "add")


@pytest.fixture
def inputs(device):
    bufs = [device.buffer(ADD_N) for _ in range(3)]
    yield bufs
    for b in bufs:
        b.close()


def test_buffer_too_small(device, add, inputs):
    small = device.buffer(ADD_N // 2)
    with pytest.raises(
        VulkanError,
        match=r"argument 1 \(set 0, binding 1, add_arg_1\): needs 400000 bytes "
        r"\(100000 x f32\), but <Buffer float32 \(50000,\)",
    ):
        device.run(add, [inputs[0], small, inputs[2]], 1)
    small.close()


def test_buffer_of_wrong_element_type(device, add, inputs):
    ints = device.buffer(ADD_N, np.int32)
    with pytest.raises(VulkanError, match=r"holds f32 elements, but the buffer's dtype is int32"):
        device.run(add, [ints, inputs[1], inputs[2]], 1)
    ints.close()


def test_wrong_number_of_buffers(device, add, inputs):
    with pytest.raises(VulkanError, match=r"takes 3 buffers .*add_arg_0.*got 2"):
        device.run(add, inputs[:2], 1)
    with pytest.raises(VulkanError, match=r"expected a Buffer, got ndarray"):
        device.run(add, [inputs[0], inputs[1], np.zeros(ADD_N, np.float32)], 1)
    with pytest.raises(
        VulkanError, match=r"binds \(set, binding\) \[\(0, 0\), \(0, 1\), \(0, 2\)\]"
    ):
        device.run(add, {0: inputs[0], 1: inputs[1], 3: inputs[2]}, 1)


def test_upload_checks_dtype_and_size(inputs):
    with pytest.raises(VulkanError, match=r"buffer holds float32 but the array is float64.*astype"):
        inputs[0].upload(np.zeros(ADD_N))
    with pytest.raises(
        VulkanError, match=r"holds 100000 elements \(shape \(100000,\)\) but the array has 7"
    ):
        inputs[0].upload(np.zeros(7, np.float32))
    with pytest.raises(VulkanError, match=r"needs a numpy array, got list"):
        inputs[0].upload([1.0, 2.0])


def test_bad_workgroup_counts(device, add, inputs):
    with pytest.raises(VulkanError, match=r"workgroup counts \[0, 1, 1\] must be >= 1"):
        device.run(add, inputs, 0)
    too_many = device.info.max_workgroup_count[0] + 1
    with pytest.raises(VulkanError, match=r"must be >= 1 and <="):
        device.run(add, inputs, (too_many, 1, 1))
    with pytest.raises(VulkanError, match=r"1 to 3 integers"):
        device.run(add, inputs, (1, 1, 1, 1))


def test_push_constant_size_is_checked(device, add, push_spirv, inputs):
    with pytest.raises(VulkanError, match=r"takes 0 bytes of push constants, got 4"):
        device.run(add, inputs, 1, push_constants=b"\0\0\0\0")
    affine = device.kernel(push_spirv)
    with pytest.raises(VulkanError, match=r"needs 12 bytes of push constants"):
        device.run(affine, inputs[:2], 1)
    with pytest.raises(VulkanError, match=r"takes 12 bytes of push constants, got 8"):
        device.run(affine, inputs[:2], 1, push_constants=np.zeros(2, np.float32))
    affine.close()


def test_bad_spirv_and_entry_points(device, kernels_spirv):
    with pytest.raises(VulkanError, match=r"cannot load SPIR-V kernel: not SPIR-V"):
        device.kernel(b"\0" * 64)
    with pytest.raises(VulkanError, match=r"no entry point 'mul'.*\['add', 'conv2d', 'probe'\]"):
        device.kernel(kernels_spirv, "mul")
    with pytest.raises(VulkanError, match=r"3 entry points .* name one"):
        device.kernel(kernels_spirv)


def test_missing_device_feature_is_named(device):
    profile = dataclasses.replace(ADRENO_640, capabilities=ADRENO_640.capabilities | {"Float64"})
    spirv = spirv_tools.serialize_spirv_module(
        gpu_module([add_kernel(16, dtype="f64")], profile.target_env())
    )
    real = device.info
    try:
        device.info = dataclasses.replace(real, features=real.features - {"shaderFloat64"})
        with pytest.raises(VulkanError, match=r"declares capability Float64, but .* shaderFloat64"):
            device.kernel(spirv)
    finally:
        device.info = real


def test_sequence_misuse(device, add, inputs):
    seq = device.sequence()
    with pytest.raises(VulkanError, match="no dispatches"):
        seq.submit()
    seq.dispatch(add, inputs, 1)
    seq.submit()
    with pytest.raises(VulkanError, match="already submitted"):
        seq.dispatch(add, inputs, 1)
    seq.close()
    seq.close()  # idempotent
    with pytest.raises(VulkanError, match="closed"):
        seq.submit()


def test_unknown_device_name_lists_devices(device):
    with pytest.raises(VulkanError, match=r"no Vulkan device matches 'no-such-gpu'; devices: \["):
        VulkanDevice("no-such-gpu")
