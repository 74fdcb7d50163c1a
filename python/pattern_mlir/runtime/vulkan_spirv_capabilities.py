"""SPIR-V capability numbers, names and implications.

Why a table: a SPIR-V binary stores capabilities as numbers, and a capability may
implicitly declare others (``Shader`` implies ``Matrix``). Checking a binary
against a device profile needs both facts without calling any tool.

Generated from MLIR 22's ``mlir/Dialect/SPIRV/IR/SPIRVBase.td`` (the
``SPIRV_C_*`` enum cases and their ``implies`` lists); each row of
``_TABLE`` is ``<number> <name> [<implied name> ...]``. Regenerate it from
that file when MLIR adds capabilities; unknown numbers are still reported, as
``Capability(<number>)``.
"""

from __future__ import annotations

_TABLE = """
0 Matrix
1 Shader Matrix
2 Geometry Shader
3 Tessellation Shader
4 Addresses
5 Linkage
6 Kernel
7 Vector16 Kernel
8 Float16Buffer Kernel
9 Float16
10 Float64
11 Int64
12 Int64Atomics Int64
13 ImageBasic Kernel
14 ImageReadWrite ImageBasic
15 ImageMipmap ImageBasic
17 Pipes Kernel
18 Groups
19 DeviceEnqueue Kernel
20 LiteralSampler Kernel
21 AtomicStorage Shader
22 Int16
23 TessellationPointSize Tessellation
24 GeometryPointSize Geometry
25 ImageGatherExtended Shader
27 StorageImageMultisample Shader
28 UniformBufferArrayDynamicIndexing Shader
29 SampledImageArrayDynamicIndexing Shader
30 StorageBufferArrayDynamicIndexing Shader
31 StorageImageArrayDynamicIndexing Shader
32 ClipDistance Shader
33 CullDistance Shader
34 ImageCubeArray SampledCubeArray
35 SampleRateShading Shader
36 ImageRect SampledRect
37 SampledRect Shader
38 GenericPointer Addresses
39 Int8
40 InputAttachment Shader
41 SparseResidency Shader
42 MinLod Shader
43 Sampled1D
44 Image1D Sampled1D
45 SampledCubeArray Shader
46 SampledBuffer
47 ImageBuffer SampledBuffer
48 ImageMSArray Shader
49 StorageImageExtendedFormats Shader
50 ImageQuery Shader
51 DerivativeControl Shader
52 InterpolationFunction Shader
53 TransformFeedback Shader
54 GeometryStreams Geometry
55 StorageImageReadWithoutFormat Shader
56 StorageImageWriteWithoutFormat Shader
57 MultiViewport Geometry
58 SubgroupDispatch DeviceEnqueue
59 NamedBarrier Kernel
60 PipeStorage Pipes
61 GroupNonUniform
62 GroupNonUniformVote GroupNonUniform
63 GroupNonUniformArithmetic GroupNonUniform
64 GroupNonUniformBallot GroupNonUniform
65 GroupNonUniformShuffle GroupNonUniform
66 GroupNonUniformShuffleRelative GroupNonUniform
67 GroupNonUniformClustered GroupNonUniform
68 GroupNonUniformQuad GroupNonUniform
69 ShaderLayer
70 ShaderViewportIndex
71 UniformDecoration
4174 TensorsARM Int8
4175 StorageTensorArrayDynamicIndexingEXT TensorsARM Shader
4176 StorageTensorArrayNonUniformIndexingEXT TensorsARM ShaderNonUniform
4191 GraphARM TensorsARM
4422 FragmentShadingRateKHR Shader
4423 SubgroupBallotKHR
4427 DrawParameters Shader
4428 WorkgroupMemoryExplicitLayoutKHR Shader
4429 WorkgroupMemoryExplicitLayout8BitAccessKHR WorkgroupMemoryExplicitLayoutKHR
4430 WorkgroupMemoryExplicitLayout16BitAccessKHR Shader
4431 SubgroupVoteKHR
4433 StorageBuffer16BitAccess
4434 StorageUniform16 StorageBuffer16BitAccess
4435 StoragePushConstant16
4436 StorageInputOutput16
4437 DeviceGroup
4439 MultiView Shader
4441 VariablePointersStorageBuffer Shader
4442 VariablePointers VariablePointersStorageBuffer
4445 AtomicStorageOps
4447 SampleMaskPostDepthCoverage
4448 StorageBuffer8BitAccess
4449 UniformAndStorageBuffer8BitAccess StorageBuffer8BitAccess
4450 StoragePushConstant8
4464 DenormPreserve
4465 DenormFlushToZero
4466 SignedZeroInfNanPreserve
4467 RoundingModeRTE
4468 RoundingModeRTZ
4471 RayQueryProvisionalKHR Shader
4472 RayQueryKHR Shader
4478 RayTraversalPrimitiveCullingKHR RayQueryKHR RayTracingKHR
4479 RayTracingKHR Shader
5008 Float16ImageAMD Shader
5009 ImageGatherBiasLodAMD Shader
5010 FragmentMaskAMD Shader
5013 StencilExportEXT Shader
5015 ImageReadWriteLodAMD Shader
5016 Int64ImageEXT Shader
5055 ShaderClockKHR Shader
5116 BFloat16TypeKHR
5117 BFloat16DotProductKHR BFloat16TypeKHR
5118 BFloat16CooperativeMatrixKHR BFloat16TypeKHR CooperativeMatrixKHR
5249 SampleMaskOverrideCoverageNV SampleRateShading
5251 GeometryShaderPassthroughNV Geometry
5254 ShaderViewportIndexLayerEXT MultiViewport
5255 ShaderViewportMaskNV ShaderViewportIndexLayerEXT
5259 ShaderStereoViewNV ShaderViewportMaskNV
5260 PerViewAttributesNV MultiView
5265 FragmentFullyCoveredEXT Shader
5282 ImageFootprintNV
5283 MeshShadingEXT Shader
5284 FragmentBarycentricKHR
5288 ComputeDerivativeGroupQuadsNV
5291 FragmentDensityEXT Shader
5297 GroupNonUniformPartitionedNV
5301 ShaderNonUniform Shader
5302 RuntimeDescriptorArray Shader
5303 InputAttachmentArrayDynamicIndexing InputAttachment
5304 UniformTexelBufferArrayDynamicIndexing SampledBuffer
5305 StorageTexelBufferArrayDynamicIndexing ImageBuffer
5306 UniformBufferArrayNonUniformIndexing ShaderNonUniform
5307 SampledImageArrayNonUniformIndexing ShaderNonUniform
5308 StorageBufferArrayNonUniformIndexing ShaderNonUniform
5309 StorageImageArrayNonUniformIndexing ShaderNonUniform
5310 InputAttachmentArrayNonUniformIndexing InputAttachment ShaderNonUniform
5311 UniformTexelBufferArrayNonUniformIndexing SampledBuffer ShaderNonUniform
5312 StorageTexelBufferArrayNonUniformIndexing ImageBuffer ShaderNonUniform
5340 RayTracingNV Shader
5341 RayTracingMotionBlurNV Shader
5345 VulkanMemoryModel
5346 VulkanMemoryModelDeviceScope
5347 PhysicalStorageBufferAddresses Shader
5350 ComputeDerivativeGroupLinearNV
5353 RayTracingProvisionalKHR Shader
5363 FragmentShaderSampleInterlockEXT Shader
5372 FragmentShaderShadingRateInterlockEXT Shader
5373 ShaderSMBuiltinsNV Shader
5378 FragmentShaderPixelInterlockEXT Shader
5379 DemoteToHelperInvocation Shader
5390 BindlessTextureNV
5568 SubgroupShuffleINTEL
5569 SubgroupBufferBlockIOINTEL
5570 SubgroupImageBlockIOINTEL
5579 SubgroupImageMediaBlockIOINTEL
5582 RoundToInfinityINTEL
5583 FloatingPointModeINTEL
5584 IntegerFunctions2INTEL Shader
5603 FunctionPointersINTEL
5604 IndirectReferencesINTEL
5606 AsmINTEL
5612 AtomicFloat32MinMaxEXT
5613 AtomicFloat64MinMaxEXT
5616 AtomicFloat16MinMaxEXT
5617 VectorComputeINTEL VectorAnyINTEL
5619 VectorAnyINTEL
5629 ExpectAssumeKHR
5696 SubgroupAvcMotionEstimationINTEL
5697 SubgroupAvcMotionEstimationIntraINTEL
5698 SubgroupAvcMotionEstimationChromaINTEL
5817 VariableLengthArrayINTEL
5821 FunctionFloatControlINTEL
5824 FPGAMemoryAttributesINTEL
5837 FPFastMathModeINTEL Kernel
5844 ArbitraryPrecisionIntegersINTEL
5845 ArbitraryPrecisionFloatingPointINTEL
5886 UnstructuredLoopControlsINTEL
5888 FPGALoopControlsINTEL
5892 KernelAttributesINTEL
5897 FPGAKernelAttributesINTEL
5898 FPGAMemoryAccessesINTEL
5904 FPGAClusterAttributesINTEL
5906 LoopFuseINTEL
5910 MemoryAccessAliasingINTEL
5920 FPGABufferLocationINTEL
5922 ArbitraryPrecisionFixedPointINTEL
5935 USMStorageClassesINTEL
5943 IOPipesINTEL
5945 BlockingPipesALTERA
5948 FPGARegINTEL
6016 DotProductInputAll
6017 DotProductInput4x8Bit Int8
6018 DotProductInput4x8BitPacked
6019 DotProduct
6020 RayCullMaskKHR
6022 CooperativeMatrixKHR
6024 ReplicatedCompositesEXT
6025 BitInstructions
6026 GroupNonUniformRotateKHR GroupNonUniform
6033 AtomicFloat32AddEXT
6034 AtomicFloat64AddEXT
6089 LongConstantCompositeINTEL
6094 OptNoneINTEL
6095 AtomicFloat16AddEXT
6114 DebugInfoModuleINTEL
6115 Bfloat16ConversionINTEL
6141 SplitBarrierINTEL
6400 GroupUniformArithmeticKHR
6425 TensorFloat32RoundingINTEL
6441 CacheControlsINTEL
"""


def _parse(table: str) -> tuple[dict[int, str], dict[str, int], dict[str, tuple[str, ...]]]:
    names: dict[int, str] = {}
    numbers: dict[str, int] = {}
    implies: dict[str, tuple[str, ...]] = {}
    for line in table.strip().splitlines():
        number, name, *implied = line.split()
        names[int(number)] = name
        numbers[name] = int(number)
        implies[name] = tuple(implied)
    return names, numbers, implies


CAPABILITY_NAMES, CAPABILITY_NUMBERS, CAPABILITY_IMPLIES = _parse(_TABLE)


def capability_name(number: int) -> str:
    """Name of a capability number; ``Capability(<n>)`` when the table lacks it."""
    return CAPABILITY_NAMES.get(number, f"Capability({number})")


def implied_closure(capabilities: set[str] | frozenset[str]) -> frozenset[str]:
    """The capabilities plus every capability they implicitly declare (transitively)."""
    result = set(capabilities)
    stack = list(capabilities)
    while stack:
        for implied in CAPABILITY_IMPLIES.get(stack.pop(), ()):
            if implied not in result:
                result.add(implied)
                stack.append(implied)
    return frozenset(result)
