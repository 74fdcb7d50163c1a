"""``pattern-lower-to-gpu``: a tensor-level module -> gpu.modules + a host function.

Why a pass: the GPU lowering must be replayable from the command line
(``pattern-opt in.mlir --pattern-lower-to-gpu``) with the same name the compiler
uses, so a failing model can be reduced and its kernels inspected. It runs
``pattern_mlir.gpu.lower_to_gpu``: pattern.packed_conv2d becomes one specialised
kernel per conv (FKR filter groups, one loop per pattern, vec4 weights/stores,
shared-memory staging where it pays), every other op goes through One-Shot
Bufferize and upstream loop/GPU passes, and each gpu.module carries the Adreno
640 ``spirv.target_env``. Option ``spirv=1`` also converts to SPIR-V and
validates every binary (spirv-val, target profile), failing on the first
violation. Option ``staged=0|1`` forces the pattern kernels' variant (tests);
``dense=0`` leaves dense and depthwise convs to the upstream lowering.
"""

from __future__ import annotations

from pattern_mlir.passes.registry import register_pass


def _flag(options: dict[str, str], key: str) -> bool | None:
    if key not in options:
        return None
    value = options[key].lower()
    if value in ("1", "true", ""):
        return True
    if value in ("0", "false"):
        return False
    raise ValueError(f"pattern-lower-to-gpu: option {key}={options[key]!r} is not a boolean")


@register_pass(
    "pattern-lower-to-gpu",
    "Lower pattern convs and linalg-on-tensors to gpu kernels for the Adreno 640 (SPIR-V)",
    options=("spirv", "staged", "dense"),
)
def lower_to_gpu_pass(module_op, options: dict[str, str]) -> None:
    # Imported here: registering the pass must not pull in the GPU path's dependencies.
    from pattern_mlir.gpu.lowering import lower_to_gpu
    from pattern_mlir.gpu.spirv_build import build_spirv

    staged = _flag(options, "staged")
    lower_to_gpu(
        module_op,
        plan_options={"staged": staged} if staged is not None else None,
        dense_convs=_flag(options, "dense") is not False,
    )
    if _flag(options, "spirv"):
        build_spirv(module_op)
