"""gpu.modules -> validated SPIR-V binaries, one per module.

Why validate every binary here: lavapipe accepts shaders a phone driver rejects,
so passing ``spirv-val --target-env vulkan1.1`` and fitting the target profile's
capabilities, extensions and workgroup limits (``spirv_tools.check_profile``) is
the only evidence, on this machine, that the code would load on the device.
``convert-math-to-spirv`` runs first inside each gpu.module: the upstream GPU
conversion does not include the math patterns (math.sqrt from BatchNorm, exp).
"""

from __future__ import annotations

from mlir import ir

from pattern_mlir._mlir_libs import _patternDialects
from pattern_mlir.gpu.bufferize import run_pipeline
from pattern_mlir.gpu.irutil import ops_named, symbol_name
from pattern_mlir.runtime import spirv_tools
from pattern_mlir.runtime.spirv_tools import ADRENO_640, SpirvProfile

SPIRV_PIPELINE = (
    "gpu.module(convert-math-to-spirv),convert-gpu-to-spirv,"
    "spirv.module(spirv-lower-abi-attrs,spirv-update-vce)"
)
_PREFIX = "__spv__"


def build_spirv(
    module: ir.Module, profile: SpirvProfile = ADRENO_640, *, validate: bool = True
) -> dict[str, bytes]:
    """Lower every gpu.module of ``module`` (in place); return {gpu.module name: binary}."""
    run_pipeline(module, SPIRV_PIPELINE, "conversion to SPIR-V")
    binaries = {}
    for spirv_module in ops_named(module, "spirv.module"):
        name = symbol_name(spirv_module)
        name = name.removeprefix(_PREFIX)
        binary = _patternDialects.serialize_spirv(spirv_module)
        if validate:
            spirv_tools.validate(binary)
            spirv_tools.check_profile(binary, profile)
        binaries[name] = binary
    return binaries
