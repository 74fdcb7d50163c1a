"""A Vulkan 1.1 compute device: instance, physical device, queue, features, limits.

Why this shape: the runtime only needs one compute queue, but it must (a) pick a real
GPU over a software rasteriser when both exist, (b) enable the optional features a
compiled kernel may declare (Int16, variable pointers, 16-bit storage, ...) so the
same SPIR-V runs on lavapipe and on an Adreno, and (c) report the limits and the
timestamp period that scheduling and benchmarking read. Subgroup size is reported
for information only; nothing may depend on it (lavapipe says 8, Adreno 64).

The device owns every object created from it and frees them in ``close()``, in
reverse creation order, so a forgotten buffer cannot outlive its ``VkDevice``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from pattern_mlir.runtime.vulkan_errors import (
    VulkanError,
    VulkanUnavailableError,
    binding,
    call,
)

_TYPE_NAMES = {0: "other", 1: "integrated-gpu", 2: "discrete-gpu", 3: "virtual-gpu", 4: "cpu"}
_TYPE_PREFERENCE = {2: 0, 1: 1, 3: 2, 4: 3, 0: 4}

#: Environment variable choosing the device: an index, or part of its name.
DEVICE_ENV = "PATTERN_MLIR_VULKAN_DEVICE"


@dataclass(frozen=True)
class DeviceInfo:
    """Facts about the chosen physical device that callers plan with."""

    name: str
    device_type: str
    vendor_id: int
    device_id: int
    api_version: tuple[int, int, int]
    driver_version: int
    queue_family: int
    subgroup_size: int
    subgroup_operations: int
    timestamp_period_ns: float
    timestamp_valid_bits: int
    max_workgroup_count: tuple[int, int, int]
    max_workgroup_size: tuple[int, int, int]
    max_workgroup_invocations: int
    max_shared_memory_bytes: int
    max_push_constants_bytes: int
    max_storage_buffer_range: int
    max_uniform_buffer_range: int
    max_bound_descriptor_sets: int
    non_coherent_atom_size: int
    features: frozenset[str]


def _version(v: int) -> tuple[int, int, int]:
    return (v >> 22) & 0x7F, (v >> 12) & 0x3FF, v & 0xFFF


def _api_1_1(vk) -> int:
    return vk.VK_MAKE_VERSION(1, 1, 0)


class _FeatureChain:
    """The optional feature structs this runtime enables when the device has them.

    Kept alive together because the binding's pNext pointers do not own their target.
    """

    BASE = ("shaderInt16", "shaderInt64", "shaderFloat64")
    VARIABLE_POINTERS = ("variablePointersStorageBuffer", "variablePointers")
    STORAGE_16 = ("storageBuffer16BitAccess", "uniformAndStorageBuffer16BitAccess")

    def __init__(self, vk, features=None):
        self.variable_pointers = vk.VkPhysicalDeviceVariablePointersFeatures()
        self.storage16 = vk.VkPhysicalDevice16BitStorageFeatures(pNext=self.variable_pointers)
        self.root = vk.VkPhysicalDeviceFeatures2(pNext=self.storage16)
        if features is not None:
            for name in self.BASE:
                setattr(self.root.features, name, int(name in features))
            for name in self.VARIABLE_POINTERS:
                setattr(self.variable_pointers, name, int(name in features))
            for name in self.STORAGE_16:
                setattr(self.storage16, name, int(name in features))

    def supported(self) -> frozenset[str]:
        names = [n for n in self.BASE if getattr(self.root.features, n)]
        names += [n for n in self.VARIABLE_POINTERS if getattr(self.variable_pointers, n)]
        names += [n for n in self.STORAGE_16 if getattr(self.storage16, n)]
        return frozenset(names)


class VulkanDevice:
    """A logical device with one compute queue; create buffers and kernels from it.

    ``device`` selects the physical device: an index into the enumeration, a
    substring of its name, or None for the environment variable
    ``PATTERN_MLIR_VULKAN_DEVICE`` or else the best kind present (discrete GPU,
    integrated GPU, virtual GPU, then CPU implementations such as lavapipe).
    Raises VulkanUnavailableError when there is no Vulkan 1.1 compute device.
    """

    def __init__(self, device: int | str | None = None):
        self._vk = vk = binding()
        self._children: list = []
        self._instance = None
        self._device = None
        self._instance = self._create_instance(vk)
        try:
            self._physical = self._choose_physical(vk, device)
            self.info = self._describe(vk)
            self._device = self._create_device(vk)
            self.queue = vk.vkGetDeviceQueue(self._device, self.info.queue_family, 0)
            self._memory = vk.vkGetPhysicalDeviceMemoryProperties(self._physical)
        except BaseException:
            self.close()
            raise

    # -- creation -------------------------------------------------------------
    @staticmethod
    def _create_instance(vk):
        try:
            version = vk.vkEnumerateInstanceVersion()
        except (AttributeError, NotImplementedError):  # a 1.0 loader lacks it
            version = vk.VK_MAKE_VERSION(1, 0, 0)
        if version < _api_1_1(vk):
            raise VulkanUnavailableError(
                f"the Vulkan loader supports only {'.'.join(map(str, _version(version)))}; "
                "this runtime needs Vulkan 1.1"
            )
        app = vk.VkApplicationInfo(
            pApplicationName="pattern-mlir",
            applicationVersion=1,
            pEngineName="pattern-mlir",
            engineVersion=1,
            apiVersion=_api_1_1(vk),
        )
        info = vk.VkInstanceCreateInfo(pApplicationInfo=app)
        try:
            return vk.vkCreateInstance(info, None)
        except (vk.VkError, vk.VkException) as exc:
            raise VulkanUnavailableError(
                f"vkCreateInstance failed ({type(exc).__name__}): no usable Vulkan "
                "driver; install one (e.g. Debian mesa-vulkan-drivers for lavapipe)"
            ) from exc

    def _choose_physical(self, vk, wanted):
        devices = list(
            call("vkEnumeratePhysicalDevices", vk.vkEnumeratePhysicalDevices, self._instance)
        )
        usable = []
        for index, pd in enumerate(devices):
            props = vk.vkGetPhysicalDeviceProperties(pd)
            families = vk.vkGetPhysicalDeviceQueueFamilyProperties(pd)
            has_compute = any(f.queueFlags & vk.VK_QUEUE_COMPUTE_BIT for f in families)
            if props.apiVersion >= _api_1_1(vk) and has_compute:
                usable.append((index, pd, props))
        if not usable:
            raise VulkanUnavailableError(
                f"no Vulkan 1.1 device with a compute queue among {len(devices)} physical device(s)"
            )
        if wanted is None:
            wanted = os.environ.get(DEVICE_ENV) or None
            if wanted is not None and wanted.isdigit():
                wanted = int(wanted)
        names = [f"{i}: {p.deviceName}" for i, _, p in usable]
        if isinstance(wanted, int):
            chosen = [u for u in usable if u[0] == wanted]
        elif isinstance(wanted, str):
            chosen = [u for u in usable if wanted.lower() in u[2].deviceName.lower()]
        else:
            chosen = sorted(usable, key=lambda u: _TYPE_PREFERENCE.get(u[2].deviceType, 9))
        if not chosen:
            raise VulkanError(f"no Vulkan device matches {wanted!r}; devices: {names}")
        return chosen[0][1]

    def _queue_family(self, vk) -> tuple[int, int]:
        families = vk.vkGetPhysicalDeviceQueueFamilyProperties(self._physical)
        candidates = [
            (i, f) for i, f in enumerate(families) if f.queueFlags & vk.VK_QUEUE_COMPUTE_BIT
        ]
        # Prefer a family that can write timestamps, then the lowest index.
        index, family = min(candidates, key=lambda c: (c[1].timestampValidBits == 0, c[0]))
        return index, family.timestampValidBits

    def _describe(self, vk) -> DeviceInfo:
        props = vk.vkGetPhysicalDeviceProperties(self._physical)
        subgroup = vk.VkPhysicalDeviceSubgroupProperties()
        vk.vkGetPhysicalDeviceProperties2(
            self._physical, vk.VkPhysicalDeviceProperties2(pNext=subgroup)
        )
        chain = _FeatureChain(vk)
        vk.vkGetPhysicalDeviceFeatures2(self._physical, chain.root)
        family, valid_bits = self._queue_family(vk)
        limits = props.limits
        compute_stage = bool(subgroup.supportedStages & vk.VK_SHADER_STAGE_COMPUTE_BIT)
        return DeviceInfo(
            name=props.deviceName,
            device_type=_TYPE_NAMES.get(props.deviceType, str(props.deviceType)),
            vendor_id=props.vendorID,
            device_id=props.deviceID,
            api_version=_version(props.apiVersion),
            driver_version=props.driverVersion,
            queue_family=family,
            subgroup_size=subgroup.subgroupSize,
            subgroup_operations=subgroup.supportedOperations if compute_stage else 0,
            timestamp_period_ns=float(limits.timestampPeriod),
            timestamp_valid_bits=valid_bits,
            max_workgroup_count=tuple(limits.maxComputeWorkGroupCount),
            max_workgroup_size=tuple(limits.maxComputeWorkGroupSize),
            max_workgroup_invocations=limits.maxComputeWorkGroupInvocations,
            max_shared_memory_bytes=limits.maxComputeSharedMemorySize,
            max_push_constants_bytes=limits.maxPushConstantsSize,
            max_storage_buffer_range=limits.maxStorageBufferRange,
            max_uniform_buffer_range=limits.maxUniformBufferRange,
            max_bound_descriptor_sets=limits.maxBoundDescriptorSets,
            non_coherent_atom_size=limits.nonCoherentAtomSize,
            features=chain.supported(),
        )

    def _create_device(self, vk):
        priorities = vk.ffi.new("float[]", [1.0])
        queue = vk.VkDeviceQueueCreateInfo(
            queueFamilyIndex=self.info.queue_family, queueCount=1, pQueuePriorities=priorities
        )
        self._features = _FeatureChain(vk, self.info.features)
        create = vk.VkDeviceCreateInfo(
            pNext=self._features.root, queueCreateInfoCount=1, pQueueCreateInfos=[queue]
        )
        return call("vkCreateDevice", vk.vkCreateDevice, self._physical, create, None)

    # -- resources ------------------------------------------------------------
    @property
    def handle(self):
        """The ``VkDevice``; VulkanError once closed."""
        if self._device is None:
            raise VulkanError("the Vulkan device is closed")
        return self._device

    @property
    def vk(self):
        """The ``vulkan`` binding module."""
        return self._vk

    def own(self, child):
        """Register a resource with a ``close()`` so the device frees it last."""
        self.handle  # noqa: B018  (raises if closed)
        self._children.append(child)
        return child

    def disown(self, child) -> None:
        """Forget a resource that closed itself."""
        with contextlib.suppress(ValueError):
            self._children.remove(child)

    def memory_type(self, type_bits: int) -> tuple[int, bool]:
        """Choose a host-visible memory type: (index, coherent).

        Prefers coherent, then device-local (unified memory on phones), then
        host-cached memory (fast read-back on desktop GPUs).
        """
        vk = self._vk
        best, best_score = None, -1
        for i in range(self._memory.memoryTypeCount):
            flags = self._memory.memoryTypes[i].propertyFlags
            if not (type_bits >> i) & 1 or not flags & vk.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT:
                continue
            score = (
                4 * bool(flags & vk.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)
                + 2 * bool(flags & vk.VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)
                + bool(flags & vk.VK_MEMORY_PROPERTY_HOST_CACHED_BIT)
            )
            if score > best_score:
                best, best_score = i, score
        if best is None:
            raise VulkanError(f"{self.info.name} has no host-visible memory for buffers")
        return best, best_score >= 4

    # -- factories (the public way to make objects) -----------------------------
    def buffer(self, shape, dtype="float32"):
        """A zero-filled host-visible storage buffer for an array of ``shape``/``dtype``."""
        from pattern_mlir.runtime.vulkan_buffer import Buffer

        return Buffer(self, shape, dtype)

    def upload(self, array):
        """A new buffer holding a copy of ``array`` (same shape and dtype)."""
        from pattern_mlir.runtime.vulkan_buffer import Buffer

        return Buffer.from_array(self, array)

    def kernel(self, spirv, entry_point: str | None = None):
        """A compute pipeline for ``entry_point`` of a SPIR-V binary (bytes or words)."""
        from pattern_mlir.runtime.vulkan_kernel import Kernel

        return Kernel(self, spirv, entry_point)

    def sequence(self, *, timestamps: bool = False):
        """An empty command sequence: add dispatches, then ``submit()`` (repeatably)."""
        from pattern_mlir.runtime.vulkan_commands import CommandSequence

        return CommandSequence(self, timestamps=timestamps)

    def run(self, kernel, buffers, groups, push_constants=None, *, timestamps=False):
        """Dispatch one kernel, wait, and return its GPU time in ms (or None)."""
        with self.sequence(timestamps=timestamps) as seq:
            seq.dispatch(kernel, buffers, groups, push_constants)
            result = seq.submit()
        return result.dispatch_ms[0] if timestamps else None

    # -- lifetime -------------------------------------------------------------
    def close(self) -> None:
        """Wait for the queue, free every owned object, the device and the instance."""
        vk = self._vk
        if self._device is not None:
            try:
                vk.vkDeviceWaitIdle(self._device)
            finally:
                while self._children:
                    self._children.pop().close()
                vk.vkDestroyDevice(self._device, None)
                self._device = None
        if self._instance is not None:
            vk.vkDestroyInstance(self._instance, None)
            self._instance = None

    @property
    def closed(self) -> bool:
        return self._device is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        state = "closed" if self.closed else f"queue family {self.info.queue_family}"
        return f"<VulkanDevice {self.info.name!r} ({self.info.device_type}), {state}>"
