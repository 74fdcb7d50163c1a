"""A compute pipeline for one SPIR-V entry point, with its bindings read from the binary.

Why read the binary: the descriptor set layouts, push-constant range and workgroup
size all follow from the SPIR-V, so deriving them cannot disagree with the shader
(see spirv_tools' module doc for the layout MLIR's convert-gpu-to-spirv produces).
The same facts let ``check_buffers`` reject a wrong buffer before the GPU runs, and
the capability check turns "the driver silently misbehaves" into an error that
names the missing device feature.
"""

from __future__ import annotations

import math

import numpy as np
from pattern_mlir.runtime.vulkan_errors import VulkanError, call
from pattern_mlir.runtime.vulkan_resource import DeviceResource
from pattern_mlir.runtime.vulkan_spirv_reflect import (
    ResourceBinding,
    SpirvFormatError,
    as_words,
    entry_point_resources,
    module_info,
)

#: Capability -> device feature (as in DeviceInfo.features) it needs enabled.
_FEATURE_OF = {
    "Int16": "shaderInt16",
    "Int64": "shaderInt64",
    "Float64": "shaderFloat64",
    "VariablePointers": "variablePointers",
    "VariablePointersStorageBuffer": "variablePointersStorageBuffer",
    "StorageBuffer16BitAccess": "storageBuffer16BitAccess",
    "UniformAndStorageBuffer16BitAccess": "uniformAndStorageBuffer16BitAccess",
}
#: Capability -> VkSubgroupFeatureFlagBits bit needed in compute shaders.
_SUBGROUP_BIT_OF = {
    "GroupNonUniform": 0x1,
    "GroupNonUniformVote": 0x2,
    "GroupNonUniformArithmetic": 0x4,
    "GroupNonUniformBallot": 0x8,
    "GroupNonUniformShuffle": 0x10,
    "GroupNonUniformShuffleRelative": 0x20,
    "GroupNonUniformClustered": 0x40,
    "GroupNonUniformQuad": 0x80,
}
#: Capabilities needing Vulkan 1.2 features this runtime does not enable yet.
_NOT_ENABLED = {"Float16", "Int8", "StorageBuffer8BitAccess", "UniformAndStorageBuffer8BitAccess"}

_ELEMENT_OF_DTYPE = {("f", 2): "f16", ("f", 4): "f32", ("f", 8): "f64"}
for _bits in (1, 2, 4, 8):
    for _kind in "iub":
        _ELEMENT_OF_DTYPE[(_kind, _bits)] = f"i{8 * _bits}"


def _element(dtype: np.dtype) -> str | None:
    return _ELEMENT_OF_DTYPE.get((dtype.kind, dtype.itemsize))


class Kernel(DeviceResource):
    """Shader module, descriptor set layouts, pipeline layout and compute pipeline.

    ``entry_point`` may be omitted when the module has exactly one. Attributes:
    ``name``, ``bindings`` (ResourceBinding, sorted by set then binding: pass
    buffers to a dispatch in this order), ``workgroup_size``,
    ``push_constant_size`` (bytes, 0 if none).
    """

    def __init__(self, device, spirv, entry_point: str | None = None):
        self._device = device
        self._vk = vk = device.vk
        self._module = self._pipeline = self._pipeline_layout = None
        self._set_layouts: list = []
        try:
            words = as_words(spirv)
            info = module_info(words)
            entry = info.entry_point(entry_point)
            resources = entry_point_resources(words, entry.name)
        except SpirvFormatError as exc:
            raise VulkanError(f"cannot load SPIR-V kernel: {exc}") from exc
        if entry.execution_model != "GLCompute":
            raise VulkanError(
                f"entry point {entry.name!r} is {entry.execution_model}, not GLCompute"
            )
        self.name = entry.name
        self.bindings: tuple[ResourceBinding, ...] = resources.bindings
        self.workgroup_size = entry.local_size
        self.push_constant_size = -(-resources.push_constant_size // 4) * 4
        self._check_device_support(info.capabilities)
        try:
            self._create(vk, words)
        except BaseException:
            self._destroy()
            raise
        device.own(self)

    # -- checks ---------------------------------------------------------------
    def _check_device_support(self, capabilities) -> None:
        dev = self._device.info
        for cap in capabilities:
            feature = _FEATURE_OF.get(cap)
            if feature is not None and feature not in dev.features:
                raise VulkanError(
                    f"kernel {self.name!r} declares capability {cap}, but {dev.name} "
                    f"does not support the {feature} feature"
                )
            bit = _SUBGROUP_BIT_OF.get(cap)
            if bit is not None and not dev.subgroup_operations & bit:
                raise VulkanError(
                    f"kernel {self.name!r} declares capability {cap}, but {dev.name} "
                    "does not support that subgroup operation in compute shaders"
                )
            if cap in _NOT_ENABLED:
                raise VulkanError(
                    f"kernel {self.name!r} declares capability {cap}, which needs a "
                    "Vulkan 1.2 feature this runtime does not enable"
                )
        size = self.workgroup_size
        too_big = size is not None and (
            math.prod(size) > dev.max_workgroup_invocations
            or any(s > m for s, m in zip(size, dev.max_workgroup_size))
        )
        if too_big:
            raise VulkanError(
                f"kernel {self.name!r} workgroup size {list(size)} exceeds {dev.name}'s "
                f"limits {list(dev.max_workgroup_size)}, "
                f"{dev.max_workgroup_invocations} invocations"
            )
        if self.push_constant_size > dev.max_push_constants_bytes:
            raise VulkanError(
                f"kernel {self.name!r} needs {self.push_constant_size} bytes of push "
                f"constants; {dev.name} allows {dev.max_push_constants_bytes}"
            )
        sets = 1 + max((b.descriptor_set for b in self.bindings), default=-1)
        if sets > dev.max_bound_descriptor_sets:
            raise VulkanError(
                f"kernel {self.name!r} uses {sets} descriptor sets; "
                f"{dev.name} binds at most {dev.max_bound_descriptor_sets}"
            )

    def descriptor_type(self, binding: ResourceBinding) -> int:
        vk = self._vk
        if binding.kind == "uniform":
            return vk.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER
        return vk.VK_DESCRIPTOR_TYPE_STORAGE_BUFFER

    def check_buffers(self, buffers) -> list:
        """Validate buffers for this kernel's bindings; return them in ``bindings`` order.

        ``buffers`` is a sequence in ``bindings`` order, or a mapping from
        ``(set, binding)`` (or a bare binding number, meaning set 0) to Buffer.
        """
        from pattern_mlir.runtime.vulkan_buffer import Buffer

        if isinstance(buffers, dict):
            buffers = self._from_mapping(buffers)
        buffers = list(buffers)
        names = [b.name or f"({b.descriptor_set}, {b.binding})" for b in self.bindings]
        if len(buffers) != len(self.bindings):
            raise VulkanError(
                f"kernel {self.name!r} takes {len(self.bindings)} buffers {names}, "
                f"got {len(buffers)}"
            )
        dev = self._device.info
        for i, (buf, want) in enumerate(zip(buffers, self.bindings)):
            where = (
                f"kernel {self.name!r} argument {i} (set {want.descriptor_set}, "
                f"binding {want.binding}, {names[i]})"
            )
            if not isinstance(buf, Buffer):
                raise VulkanError(f"{where}: expected a Buffer, got {type(buf).__name__}")
            if buf.closed:
                raise VulkanError(f"{where}: {buf!r} is closed")
            if buf._device is not self._device:
                raise VulkanError(f"{where}: {buf!r} belongs to another device")
            if buf.nbytes < want.min_size:
                what = f"{want.min_size} bytes"
                if want.element:
                    what += f" ({want.min_size * 8 // int(want.element[1:])} x {want.element})"
                raise VulkanError(f"{where}: needs {what}, but {buf!r} holds {buf.nbytes} bytes")
            have = _element(buf.dtype)
            if want.element and have and have != want.element:
                raise VulkanError(
                    f"{where}: holds {want.element} elements, but the buffer's dtype is {buf.dtype}"
                )
            limit = (
                dev.max_uniform_buffer_range
                if want.kind == "uniform"
                else dev.max_storage_buffer_range
            )
            if buf.size > limit:
                raise VulkanError(
                    f"{where}: {buf.size} bytes exceeds the {want.kind} buffer range {limit}"
                )
        return buffers

    def _from_mapping(self, mapping: dict) -> list:
        keyed = {(k if isinstance(k, tuple) else (0, k)): v for k, v in mapping.items()}
        wanted = [(b.descriptor_set, b.binding) for b in self.bindings]
        if set(keyed) != set(wanted):
            raise VulkanError(
                f"kernel {self.name!r} binds (set, binding) {wanted}, got {sorted(keyed)}"
            )
        return [keyed[k] for k in wanted]

    # -- Vulkan objects ---------------------------------------------------------
    def _create(self, vk, words: np.ndarray) -> None:
        handle = self._device.handle
        code = words.astype("<u4").tobytes()
        module_info_ = vk.VkShaderModuleCreateInfo(codeSize=len(code), pCode=code)
        self._module = call(
            f"vkCreateShaderModule({self.name})",
            vk.vkCreateShaderModule,
            handle,
            module_info_,
            None,
        )
        sets = 1 + max((b.descriptor_set for b in self.bindings), default=-1)
        for s in range(sets):
            entries = [
                vk.VkDescriptorSetLayoutBinding(
                    binding=b.binding,
                    descriptorType=self.descriptor_type(b),
                    descriptorCount=1,
                    stageFlags=vk.VK_SHADER_STAGE_COMPUTE_BIT,
                )
                for b in self.bindings
                if b.descriptor_set == s
            ]
            layout_info = vk.VkDescriptorSetLayoutCreateInfo(
                bindingCount=len(entries), pBindings=entries or None
            )
            self._set_layouts.append(
                call(
                    "vkCreateDescriptorSetLayout",
                    vk.vkCreateDescriptorSetLayout,
                    handle,
                    layout_info,
                    None,
                )
            )
        ranges = None
        if self.push_constant_size:
            ranges = [
                vk.VkPushConstantRange(
                    stageFlags=vk.VK_SHADER_STAGE_COMPUTE_BIT,
                    offset=0,
                    size=self.push_constant_size,
                )
            ]
        layout_info = vk.VkPipelineLayoutCreateInfo(
            setLayoutCount=len(self._set_layouts),
            pSetLayouts=self._set_layouts or None,
            pushConstantRangeCount=len(ranges or ()),
            pPushConstantRanges=ranges,
        )
        self._pipeline_layout = call(
            "vkCreatePipelineLayout", vk.vkCreatePipelineLayout, handle, layout_info, None
        )
        stage = vk.VkPipelineShaderStageCreateInfo(
            stage=vk.VK_SHADER_STAGE_COMPUTE_BIT, module=self._module, pName=self.name
        )
        pipeline_info = vk.VkComputePipelineCreateInfo(stage=stage, layout=self._pipeline_layout)
        pipelines = call(
            f"vkCreateComputePipelines({self.name})",
            vk.vkCreateComputePipelines,
            handle,
            None,
            1,
            [pipeline_info],
            None,
        )
        self._pipeline = pipelines[0]

    @property
    def pipeline(self):
        if self._pipeline is None:
            raise VulkanError(f"kernel {self.name!r} is closed")
        return self._pipeline

    @property
    def pipeline_layout(self):
        return self._pipeline_layout

    @property
    def set_layouts(self) -> list:
        return list(self._set_layouts)

    @property
    def closed(self) -> bool:
        return self._pipeline is None

    def _destroy(self) -> None:
        vk = self._vk
        handle = self._device.handle
        if self._pipeline is not None:
            vk.vkDestroyPipeline(handle, self._pipeline, None)
            self._pipeline = None
        if self._pipeline_layout is not None:
            vk.vkDestroyPipelineLayout(handle, self._pipeline_layout, None)
            self._pipeline_layout = None
        for layout in self._set_layouts:
            vk.vkDestroyDescriptorSetLayout(handle, layout, None)
        self._set_layouts = []
        if self._module is not None:
            vk.vkDestroyShaderModule(handle, self._module, None)
            self._module = None

    def _is_open(self) -> bool:
        return self._module is not None or self._pipeline is not None

    def __repr__(self):
        return (
            f"<Kernel {self.name!r} workgroup {self.workgroup_size} "
            f"{len(self.bindings)} buffers push {self.push_constant_size}B>"
        )
