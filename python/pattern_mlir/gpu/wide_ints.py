"""64-bit integers in kernels, for targets without the Int64 capability.

Why: torch-mlir computes indices in i64 inside linalg bodies (nearest upsampling:
``index -> i64 -> f32``, scale, floor, ``f32 -> i64 -> index``; gathers likewise),
and a kernel holding an i64 value needs SPIR-V Int64, which the Adreno profile lacks.
The SPIR-V conversion lowers ``index`` to i32 on these targets, so an index never
holds more than 32 bits. Three steps, cheapest first:

1. Casts between ``index`` and floats through i64 are done through i32: an index
   cast to i64 is the sign extension of its 32 bits, so converting those 32 bits to
   float gives the same value; a float converted to i64 and cast to index keeps only
   its low 32 bits on this target, which is the i32 conversion wherever that one is
   defined (wherever the index is a valid one).
2. Upstream ``arith-int-range-narrowing`` computes in i32 what integer range
   analysis proves fits (loop indices and their arithmetic).
3. Upstream ``arith-emulate-wide-int`` computes whatever i64 arithmetic is left as
   pairs of i32, exactly.

What none of them handles (i64 buffers: an int64 tensor read or written by a kernel)
is left for ``capabilities.check_kernel_capabilities`` to refuse by name.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith
from mlir.passmanager import PassManager

from pattern_mlir.gpu.capabilities import MEMORY_CAPABILITIES, check_kernel_capabilities
from pattern_mlir.passes.utils.constants import defining_op
from pattern_mlir.passes.utils.conv_info import collect_ops
from pattern_mlir.runtime.vulkan_spirv_capabilities import implied_closure

#: Upstream passes of steps 2 and 3, run inside every gpu.module.
NARROW_PIPELINE = (
    "gpu.module(arith-int-range-narrowing{int-bitwidths-supported=32},"
    "arith-emulate-wide-int{widest-int-supported=32},canonicalize,cse)"
)

_TO_FLOAT = {"arith.sitofp": "arith.index_cast", "arith.uitofp": "arith.index_castui"}
_FROM_FLOAT = {"arith.index_cast": "arith.fptosi", "arith.index_castui": "arith.fptoui"}


def _is_i64(type_: ir.Type) -> bool:
    return isinstance(type_, ir.IntegerType) and ir.IntegerType(type_).width == 64


def narrow_index_float_casts(root) -> int:
    """Step 1 under ``root``; returns how many casts were rewritten (the i64 ones they
    replaced are left dead for canonicalization)."""
    i32 = ir.IntegerType.get_signless(32)
    count = 0
    for op in collect_ops(root, *_TO_FLOAT):  # index -> i64 -> float
        source = defining_op(op.operands[0])
        if source is None or source.name != _TO_FLOAT[op.name] or not _is_i64(op.operands[0].type):
            continue
        if not isinstance(source.operands[0].type, ir.IndexType):
            continue
        with ir.InsertionPoint(op), op.location:
            if op.name == "arith.sitofp":
                narrow = arith.index_cast(i32, source.operands[0])
                value = arith.sitofp(op.results[0].type, narrow)
            else:
                narrow = arith.index_castui(i32, source.operands[0])
                value = arith.uitofp(op.results[0].type, narrow)
        op.results[0].replace_all_uses_with(value)
        op.erase()
        count += 1
    for op in collect_ops(root, *_FROM_FLOAT):  # float -> i64 -> index
        if not isinstance(op.results[0].type, ir.IndexType) or not _is_i64(op.operands[0].type):
            continue
        source = defining_op(op.operands[0])
        if source is None or source.name != _FROM_FLOAT[op.name]:
            continue
        with ir.InsertionPoint(op), op.location:
            if source.name == "arith.fptosi":
                value = arith.index_cast(op.results[0].type, arith.fptosi(i32, source.operands[0]))
            else:
                value = arith.index_castui(
                    op.results[0].type, arith.fptoui(i32, source.operands[0])
                )
        op.results[0].replace_all_uses_with(value)
        op.erase()
        count += 1
    return count


def narrow_wide_ints(module, profile) -> None:
    """Steps 1-3 in every gpu.module of ``module``, unless ``profile`` has Int64; raises
    MissingCapabilityError first for a kernel with an int64 buffer (no step handles it)."""
    if "Int64" in implied_closure(profile.capabilities):
        return
    check_kernel_capabilities(module, profile, MEMORY_CAPABILITIES)
    for gpu_module in collect_ops(module, "gpu.module"):
        narrow_index_float_casts(gpu_module)
    PassManager.parse(f"builtin.module({NARROW_PIPELINE})").run(module.operation)
