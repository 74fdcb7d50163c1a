"""spirv.modules -> validated SPIR-V binaries, one per gpu.module.

Why validate every binary: lavapipe accepts shaders a phone driver rejects, so passing
``spirv-val --target-env vulkan1.1`` and fitting the target profile's capabilities,
extensions and workgroup limits (``spirv_tools.check_profile``) is the only evidence, on
this machine, that the code would load on the device. The compiler's `validated` stage
does it; the caller serialises again without validating to load the kernels.
"""

from __future__ import annotations

from mlir import ir

from pattern_mlir._mlir_libs import _patternDialects
from pattern_mlir.backend import spirv_tools
from pattern_mlir.backend.spirv_tools import ADRENO_640, SpirvProfile

_PREFIX = "__spv__"


def serialize_binaries(
    module, profile: SpirvProfile = ADRENO_640, *, validate: bool = True
) -> dict[str, bytes]:
    """{gpu.module name: binary} of every spirv.module in ``module``."""
    spirv_modules = []

    def visit(op):
        if op.name == "spirv.module":
            spirv_modules.append(op.operation)
            return ir.WalkResult.SKIP
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    binaries = {}
    for spirv_module in spirv_modules:
        name = ir.StringAttr(spirv_module.attributes["sym_name"]).value.removeprefix(_PREFIX)
        binary = _patternDialects.serialize_spirv(spirv_module)
        if validate:
            spirv_tools.validate(binary)
            spirv_tools.check_profile(binary, profile)
        binaries[name] = binary
    return binaries
