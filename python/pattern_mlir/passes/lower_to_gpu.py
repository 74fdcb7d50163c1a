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

from pattern_mlir.passes.registry import register_pass
from pattern_mlir.passes.size_limits import GPU_MAX_ELEMENTS, check_tensor_sizes


def _flag(options: dict[str, str], key: str, pass_name: str) -> bool | None:
    if key not in options:
        return None
    value = options[key].lower()
    if value in ("1", "true", ""):
        return True
    if value in ("0", "false"):
        return False
    raise ValueError(f"{pass_name}: option {key}={options[key]!r} is not a boolean")


def _profile(options: dict[str, str]):
    from pattern_mlir.runtime.spirv_tools import ADRENO_640, SPIRV_PROFILES

    name = options.get("profile", ADRENO_640.name)
    if name not in SPIRV_PROFILES:
        raise ValueError(f"unknown SPIR-V profile {name!r}; known: {', '.join(SPIRV_PROFILES)}")
    return SPIRV_PROFILES[name]


# Each body imports the GPU path when it runs: registering the passes must not pull in
# its dependencies.


@register_pass(
    "pattern-gpu-prepare",
    "Refuse ops the GPU path cannot lower; drop cf.assert; f64 as f32 and "
    "int64 constant tensors as int32 where the profile lacks them",
    options=("profile",),
)
def prepare(module_op, options: dict[str, str]) -> None:
    from pattern_mlir.gpu import tensor_prep
    from pattern_mlir.runtime.vulkan_spirv_capabilities import implied_closure

    check_tensor_sizes(
        module_op, GPU_MAX_ELEMENTS, "pattern-gpu-prepare", "GPU kernels index in 32 bits"
    )
    tensor_prep.check_supported(module_op)
    tensor_prep.strip_asserts(module_op)
    capabilities = implied_closure(_profile(options).capabilities)
    if "Float64" not in capabilities:
        tensor_prep.fold_f64_constants(module_op)
        tensor_prep.narrow_f64_compares(module_op)
        tensor_prep.demote_f64(module_op)
    if "Int64" not in capabilities:
        tensor_prep.narrow_i64_constants(module_op)


@register_pass(
    "pattern-gpu-dense-convs",
    "Dense and depthwise convs with constant weights as one-mask packed convs",
)
def dense_convs(module_op, options: dict[str, str]) -> None:
    from pattern_mlir.gpu.dense_convs import convert_dense_convs

    convert_dense_convs(module_op)


@register_pass(
    "pattern-gpu-conv-kernels",
    "Each pattern.packed_conv2d as a launch of its specialised GPU kernel",
    options=("profile", "staged"),
)
def conv_kernels(module_op, options: dict[str, str]) -> None:
    from pattern_mlir.gpu.pattern_lowering import lower_pattern_convs

    staged = _flag(options, "staged", "pattern-gpu-conv-kernels")
    lower_pattern_convs(
        module_op,
        _profile(options).target_env(),
        plan_options={"staged": staged} if staged is not None else None,
    )


@register_pass(
    "pattern-gpu-parallel-first",
    "Put every parallel dimension of a linalg.generic before its reductions",
)
def parallel_first(module_op, options: dict[str, str]) -> None:
    from pattern_mlir.gpu.linearize import parallel_dimensions_first

    parallel_dimensions_first(module_op)


@register_pass(
    "pattern-gpu-name-kernels", "Name every linalg op k<i>_<op>, the name of the kernel it becomes"
)
def name_kernels(module_op, options: dict[str, str]) -> None:
    from pattern_mlir.gpu.outline import tag_linalg_ops

    tag_linalg_ops(module_op)


@register_pass(
    "pattern-gpu-linearize", "Each top-level scf.parallel as a 1-D grid of fixed-size workgroups"
)
def linearize(module_op, options: dict[str, str]) -> None:
    from pattern_mlir.gpu.linearize import linearize_parallel_loops

    linearize_parallel_loops(module_op)


@register_pass(
    "pattern-gpu-outline",
    "Outline gpu.launch bodies into named kernels carrying the target env",
    options=("profile",),
)
def outline(module_op, options: dict[str, str]) -> None:
    from mlir import ir

    from pattern_mlir.gpu.outline import attach_target, outline_and_name

    module_op.attributes["gpu.container_module"] = ir.UnitAttr.get()
    outline_and_name(module_op)
    attach_target(module_op, _profile(options).target_env())


@register_pass(
    "pattern-gpu-narrow-ints",
    "64-bit integers in kernels in 32 bits where the profile lacks Int64",
    options=("profile",),
)
def narrow_ints(module_op, options: dict[str, str]) -> None:
    from pattern_mlir.gpu.wide_ints import narrow_wide_ints

    narrow_wide_ints(module_op, _profile(options))


@register_pass(
    "pattern-gpu-check",
    "Refuse kernels needing a capability the profile lacks; guard zero-trip loops; "
    "check the host function",
    options=("profile",),
)
def check(module_op, options: dict[str, str]) -> None:
    from pattern_mlir.gpu.capabilities import check_kernel_capabilities
    from pattern_mlir.gpu.lowering import check_host
    from pattern_mlir.gpu.zero_trip_loops import guard_zero_trip_loops
    from pattern_mlir.passes.conv_info import collect_ops

    check_kernel_capabilities(module_op, _profile(options))
    for gpu_module in collect_ops(module_op, "gpu.module"):
        guard_zero_trip_loops(gpu_module)
    check_host(module_op)


@register_pass(
    "pattern-gpu-validate-spirv",
    "Serialise every spirv.module; spirv-val and the profile must accept it",
    options=("profile",),
)
def validate_spirv(module_op, options: dict[str, str]) -> None:
    from pattern_mlir.gpu.spirv_build import serialize_binaries

    serialize_binaries(module_op, _profile(options), validate=True)


@register_pass(
    "pattern-lower-to-gpu",
    "Lower pattern convs and linalg-on-tensors to GPU kernels (every GPU stage in one pass)",
    options=("spirv", "staged", "dense", "profile"),
)
def lower_to_gpu_pass(module_op, options: dict[str, str]) -> None:
    from pattern_mlir.compiler.stages import gpu_lowering_stages
    from pattern_mlir.gpu.lowering import run_in_process

    stages = gpu_lowering_stages(
        options.get("profile", _profile(options).name),
        dense_convs=_flag(options, "dense", "pattern-lower-to-gpu") is not False,
        staged=_flag(options, "staged", "pattern-lower-to-gpu"),
        spirv=bool(_flag(options, "spirv", "pattern-lower-to-gpu")),
    )
    run_in_process(module_op, stages)
