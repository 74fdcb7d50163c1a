"""The GPU lowering's passes: packed tensor-level module -> kernels + host function -> SPIR-V.

Why one pass per step: `compile(..., target="vulkan-adreno")` runs each as a stage of its
own (`compiler.stages.gpu_lowering_stages`), snapshotted, and a stage that fails is
replayed with `pattern-opt` by the same name. In order (upstream pipelines between them
are stages too):

- `pattern-gpu-prepare`: refuse ops the GPU path cannot lower, by name; drop `cf.assert`
  (SPIR-V cannot abort; torch checked those facts when tracing); for a profile without
  Float64, f64 values as f32 (compares of widened f32 values exactly, statistics torch-mlir
  computes in f64 in f32, as torch does); without Int64, int64 constant tensors whose
  values fit as int32 (index tables), widened where read;
- `pattern-gpu-dense-convs`: dense and depthwise convs with constant weights as packed
  convs with a one-mask library, so they get the conv kernel too;
- `pattern-gpu-conv-kernels`: each `pattern.packed_conv2d` -> a launch of its specialised
  kernel, spliced in at tensor level;
- `pattern-gpu-parallel-first`: a generic's parallel dimensions before its reductions, so
  its loops start with the ones the grid covers;
- `pattern-gpu-name-kernels`: every linalg op gets a `k<i>_<op>` name that the outlined
  kernel, the report and diagnostics carry;
- `pattern-gpu-linearize`: each loop nest -> a 1-D grid of fixed-size workgroups;
- `pattern-gpu-outline`: constants sunk into launches, kernels outlined and named, the
  target env and entry-point ABI attached;
- `pattern-gpu-narrow-ints`: 64-bit integers made legal where the profile lacks Int64;
- `pattern-gpu-check`: kernels needing a capability the profile lacks are refused naming
  it and the op; the zero-trip loop workaround; the host function holds only what the
  Vulkan plan runs;
- `pattern-gpu-validate-spirv`: every `spirv.module` serialised, `spirv-val` and the profile.

`pattern-lower-to-gpu` runs them all in one go (options `spirv`, `staged`, `dense`,
`profile`), for lit tests and reading kernels from the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pattern_mlir.passes.registry import ModulePass, register_pass
from pattern_mlir.passes.utils.size_limits import GPU_MAX_ELEMENTS, check_tensor_sizes

if TYPE_CHECKING:
    from mlir import ir


def _profile(name: str):
    from pattern_mlir.backend.spirv_tools import SPIRV_PROFILES

    if name not in SPIRV_PROFILES:
        raise ValueError(f"unknown SPIR-V profile {name!r}; known: {', '.join(SPIRV_PROFILES)}")
    return SPIRV_PROFILES[name]


@dataclass(frozen=True)
class _GpuPass(ModulePass):
    """A GPU pass whose option `profile` names the SPIR-V profile it lowers for."""

    profile: str = "adreno-640"

    def __post_init__(self) -> None:
        _profile(self.profile)


# Each body imports the GPU path when it runs: registering the passes must not pull in
# its dependencies.


@register_pass
@dataclass(frozen=True)
class GpuPrepare(_GpuPass):
    """Refuse ops the GPU path cannot lower; drop cf.assert; f64 as f32 and int64 constant tensors
    as int32 where the profile lacks them."""

    name: ClassVar[str] = "pattern-gpu-prepare"

    def apply(self, module_op: ir.Operation) -> None:
        from pattern_mlir.gpu import tensor_prep
        from pattern_mlir.runtime.vulkan_spirv_capabilities import implied_closure

        check_tensor_sizes(
            module_op, GPU_MAX_ELEMENTS, "pattern-gpu-prepare", "GPU kernels index in 32 bits"
        )
        tensor_prep.check_supported(module_op)
        tensor_prep.strip_asserts(module_op)
        capabilities = implied_closure(_profile(self.profile).capabilities)
        if "Float64" not in capabilities:
            tensor_prep.fold_f64_constants(module_op)
            tensor_prep.narrow_f64_compares(module_op)
            tensor_prep.demote_f64(module_op)
        if "Int64" not in capabilities:
            tensor_prep.narrow_i64_constants(module_op)


@register_pass
@dataclass(frozen=True)
class GpuDenseConvs(ModulePass):
    """Dense and depthwise convs with constant weights as one-mask packed convs."""

    name: ClassVar[str] = "pattern-gpu-dense-convs"

    def apply(self, module_op: ir.Operation) -> None:
        from pattern_mlir.gpu.dense_convs import convert_dense_convs

        convert_dense_convs(module_op)


@register_pass
@dataclass(frozen=True)
class GpuConvKernels(_GpuPass):
    """Each pattern.packed_conv2d as a launch of its specialised GPU kernel."""

    name: ClassVar[str] = "pattern-gpu-conv-kernels"
    staged: bool | None = None

    def apply(self, module_op: ir.Operation) -> None:
        from pattern_mlir.gpu.pattern_lowering import lower_pattern_convs

        staged = self.staged
        lower_pattern_convs(
            module_op,
            _profile(self.profile).target_env(),
            plan_options={"staged": staged} if staged is not None else None,
        )


@register_pass
@dataclass(frozen=True)
class GpuParallelFirst(ModulePass):
    """Put every parallel dimension of a linalg.generic before its reductions."""

    name: ClassVar[str] = "pattern-gpu-parallel-first"

    def apply(self, module_op: ir.Operation) -> None:
        from pattern_mlir.gpu.linearize import parallel_dimensions_first

        parallel_dimensions_first(module_op)


@register_pass
@dataclass(frozen=True)
class GpuNameKernels(ModulePass):
    """Name every linalg op k<i>_<op>, the name of the kernel it becomes."""

    name: ClassVar[str] = "pattern-gpu-name-kernels"

    def apply(self, module_op: ir.Operation) -> None:
        from pattern_mlir.gpu.outline import tag_linalg_ops

        tag_linalg_ops(module_op)


@register_pass
@dataclass(frozen=True)
class GpuLinearize(ModulePass):
    """Each top-level scf.parallel as a 1-D grid of fixed-size workgroups."""

    name: ClassVar[str] = "pattern-gpu-linearize"

    def apply(self, module_op: ir.Operation) -> None:
        from pattern_mlir.gpu.linearize import linearize_parallel_loops

        linearize_parallel_loops(module_op)


@register_pass
@dataclass(frozen=True)
class GpuOutline(_GpuPass):
    """Outline gpu.launch bodies into named kernels carrying the target env."""

    name: ClassVar[str] = "pattern-gpu-outline"

    def apply(self, module_op: ir.Operation) -> None:
        from mlir import ir

        from pattern_mlir.gpu.outline import attach_target, outline_and_name

        module_op.attributes["gpu.container_module"] = ir.UnitAttr.get()
        outline_and_name(module_op)
        attach_target(module_op, _profile(self.profile).target_env())


@register_pass
@dataclass(frozen=True)
class GpuNarrowInts(_GpuPass):
    """64-bit integers in kernels in 32 bits where the profile lacks Int64."""

    name: ClassVar[str] = "pattern-gpu-narrow-ints"

    def apply(self, module_op: ir.Operation) -> None:
        from pattern_mlir.gpu.wide_ints import narrow_wide_ints

        narrow_wide_ints(module_op, _profile(self.profile))


@register_pass
@dataclass(frozen=True)
class GpuCheck(_GpuPass):
    """Refuse kernels needing a capability the profile lacks; guard zero-trip loops; check the host
    function."""

    name: ClassVar[str] = "pattern-gpu-check"

    def apply(self, module_op: ir.Operation) -> None:
        from pattern_mlir.gpu.capabilities import check_kernel_capabilities
        from pattern_mlir.gpu.lowering import check_host
        from pattern_mlir.gpu.zero_trip_loops import guard_zero_trip_loops
        from pattern_mlir.passes.utils.conv_info import collect_ops

        check_kernel_capabilities(module_op, _profile(self.profile))
        for gpu_module in collect_ops(module_op, "gpu.module"):
            guard_zero_trip_loops(gpu_module)
        check_host(module_op)


@register_pass
@dataclass(frozen=True)
class GpuValidateSpirv(_GpuPass):
    """Serialise every spirv.module; spirv-val and the profile must accept it."""

    name: ClassVar[str] = "pattern-gpu-validate-spirv"

    def apply(self, module_op: ir.Operation) -> None:
        from pattern_mlir.backend.spirv_build import serialize_binaries

        serialize_binaries(module_op, _profile(self.profile), validate=True)


@register_pass
@dataclass(frozen=True)
class LowerToGpu(_GpuPass):
    """Lower pattern convs and linalg-on-tensors to GPU kernels (every GPU stage in one pass)."""

    name: ClassVar[str] = "pattern-lower-to-gpu"
    spirv: bool = False
    staged: bool | None = None
    dense: bool = True

    def apply(self, module_op: ir.Operation) -> None:
        from pattern_mlir.compiler.stages import gpu_lowering_stages
        from pattern_mlir.gpu.lowering import run_in_process

        stages = gpu_lowering_stages(
            _profile(self.profile).name,
            dense_convs=self.dense,
            staged=self.staged,
            spirv=self.spirv,
        )
        run_in_process(module_op, stages)
