"""Reject kernels that need a SPIR-V capability the target profile lacks, by name.

Why before SPIR-V conversion: ``convert-gpu-to-spirv`` cannot represent f64 or
i64 values without the Float64 / Int64 capabilities and then reports only
"failed to legalize operation 'gpu.func'". Phone GPUs (the Adreno 640 profile)
have neither, so the check names the kernel, the capability, the offending type
and the op it came from. (f16 and i8 are emulated with 32-bit types by the
upstream conversion and need no capability.) After serialisation
``spirv_tools.check_profile`` checks the declared capabilities once more.
"""

from __future__ import annotations

import re

from mlir import ir

from pattern_mlir.backend.spirv_tools import SpirvProfile
from pattern_mlir.gpu.errors import MissingCapabilityError
from pattern_mlir.passes.utils.conv_info import collect_ops
from pattern_mlir.runtime.vulkan_spirv_capabilities import implied_closure

#: (type pattern, capability, what it is)
TYPE_CAPABILITIES = (
    (re.compile(r"\bf64\b"), "Float64", "64-bit floating point"),
    (re.compile(r"\bi64\b"), "Int64", "64-bit integers"),
)


#: 64-bit integers in memory: arithmetic on them can be emulated in i32 pairs
#: (wide_ints), buffers of them cannot without changing what the host uploads.
MEMORY_CAPABILITIES = (
    (re.compile(r"memref<(?:[^>]*x)?i64\b"), "Int64", "64-bit integers in memory"),
)


def check_kernel_capabilities(
    module: ir.Module, profile: SpirvProfile, checks=TYPE_CAPABILITIES
) -> None:
    """Raise MissingCapabilityError for the first kernel value needing a missing capability
    (of those `checks` looks for)."""
    allowed = implied_closure(profile.capabilities)
    needed = [entry for entry in checks if entry[1] not in allowed]
    if not needed:
        return
    for func in collect_ops(module, "gpu.func"):
        kernel = ir.StringAttr(func.attributes["sym_name"]).value
        for pattern, capability, what in needed:
            found = _first_use(func, pattern)
            if found is not None:
                raise MissingCapabilityError(kernel, capability, f"{what}: {found}", profile.name)


def _first_use(func: ir.Operation, pattern: re.Pattern) -> str | None:
    """Where `func` first holds a value of a type matching `pattern`: the op and its location."""
    for arg in func.regions[0].blocks[0].arguments:
        if pattern.search(str(arg.type)):
            users = [use.owner for use in arg.uses]
            if users:
                return f"'{users[0].name}' uses a buffer of type {arg.type} at {users[0].location}"
            return f"a kernel argument has type {arg.type} at {func.location}"
    hit = []

    def visit(op):
        for value in op.results:
            if pattern.search(str(value.type)):
                hit.append(f"'{op.name}' produces {value.type} at {op.location}")
                return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    func.walk(visit)
    return hit[0] if hit else None
