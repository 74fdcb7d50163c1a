"""pattern-vectorize-dense: the linalg ops left after the pattern convs, as vector code.

Runs on linalg-on-tensors, before bufferization. Two routes:

1. Contractions and windows (passes/dense/plans.py) become generated kernels called on buffers,
   exactly like pattern convs (pattern-lower-to-vector): `linalg.conv_2d_nchw_fchw` (1x1,
   KxK, any stride; an implicit GEMM over padded phase planes, weights packed at compile
   time), `linalg.matmul` with a constant B (nn.Linear: the weight transpose torch-mlir
   emits is folded into the packing), `linalg.depthwise_conv_2d_nchw_chw` and
   `linalg.pooling_nchw_max/sum` (per-channel stencils), and `linalg.matmul` /
   `linalg.batch_matmul` of runtime operands (attention: passes/dense/contraction.py reads both
   in place, through the reshapes and transposes in front). Bias broadcasts and fills that
   initialise the output and the `tensor.pad` in front are folded into the kernel.
2. Everything else that is linalg on static f32 tensors (elementwise and reducing
   `linalg.generic`, fills, broadcasts, copies, transposes left over) is tiled and vectorised
   by an upstream transform-dialect script (passes/dense/transform.py).

Options: `target` (a CPU target of `pattern_mlir.target`, default host) picks vector width and register
blocks; `threads` (default 1) splits each kernel's outer loop over `scf.parallel` groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from mlir import ir

from ..target import Target
from .dense.block_sparse import plan_block_conv, plan_block_matmul
from .dense.contraction import plan_contraction, plan_generic_contraction
from .dense.conv_transpose import plan_conv_or_transposed
from .dense.gather_shuffles import gathers_as_shuffles
from .dense.plans import Lowering, plan_depthwise, plan_matmul, plan_pool
from .dense.slice_reads import read_slices_at_their_source
from .dense.transform import generalize_row_moves, lower_vectors, vectorize_ops
from .registry import PassError, register_pass
from .target_option import CpuPass
from .utils.conv_info import collect_ops
from .utils.kernel_calls import (
    allocate_reshaped_results,
    append_functions,
    call_kernel,
    constant_buffer,
    read_buffer,
)
from .utils.size_limits import CPU_MAX_ELEMENTS, check_tensor_sizes

_PLANNERS = {
    "linalg.conv_2d_nchw_fchw": plan_conv_or_transposed,
    "linalg.matmul": plan_matmul,
    "linalg.batch_matmul": plan_contraction,
    "linalg.depthwise_conv_2d_nchw_chw": plan_depthwise,
    "linalg.pooling_nchw_max": plan_pool,
    "linalg.pooling_nchw_sum": plan_pool,
    "pattern.block_conv2d": plan_block_conv,
    "pattern.block_matmul": plan_block_matmul,
}

# Ops without side effects whose results, once unused, are removed after rewriting.
_PURE = {
    "arith.constant",
    "tensor.empty",
    "tensor.pad",
    "tensor.collapse_shape",
    "tensor.expand_shape",
    "tensor.extract_slice",
    "tensor.insert_slice",
    "linalg.fill",
    "linalg.broadcast",
    "linalg.transpose",
}


def _replace(op: ir.Operation, lowering: Lowering, module: ir.Operation) -> None:
    """Appends the lowering's functions and replaces `op` (and its fused consumers) by a call.

    The call goes where the last fused consumer was: every operand (a residual included)
    is defined before it.
    """
    append_functions(module, lowering.text)
    last = lowering.fused[-1] if lowering.fused else op
    result_type = last.results[0].type
    with ir.InsertionPoint(last), op.location:
        args = [
            constant_buffer(x) if isinstance(x, np.ndarray) else read_buffer(x)
            for x in lowering.operands
        ]
        result = call_kernel(lowering.entry, args, result_type.shape, result_type.element_type)
    last.results[0].replace_all_uses_with(result)
    for dead in reversed([op, *lowering.fused]):
        dead.erase()


def erase_dead(module: ir.Operation) -> None:
    """Removes pure ops whose results are unused (producers folded into kernels)."""
    changed = True
    while changed:
        changed = False
        for op in reversed(collect_ops_in_functions(module)):
            if op.name in _PURE and len(op.results) and all(_unused(r) for r in op.results):
                op.erase()
                changed = True


def _unused(value: ir.Value) -> bool:
    return next(iter(value.uses), None) is None


def collect_ops_in_functions(module: ir.Operation) -> list[ir.Operation]:
    ops = []
    for f in module.regions[0].blocks[0].operations:
        if f.operation.name != "func.func" or not f.regions[0].blocks:
            continue
        for block in f.regions[0].blocks:
            ops.extend(o.operation for o in block.operations)
    return ops


def _symbol_names(module: ir.Operation) -> set[str]:
    names = set()
    for op in module.regions[0].blocks[0].operations:
        if "sym_name" in op.attributes:
            names.add(ir.StringAttr(op.attributes["sym_name"]).value)
    return names


def lower_kernels(module: ir.Operation, target: Target, threads: int) -> list[Lowering]:
    """Route 1: every op a planner accepts becomes a kernel call. Returns the lowerings."""
    taken = _symbol_names(module)
    done = []
    index = 0
    emitted: dict[
        str, str
    ] = {}  # kernel text with its own name blanked -> the name it was emitted under

    def lower(op: ir.Operation, planner) -> bool:
        nonlocal index
        while f"dense_{index}" in taken or f"dense_{index}_entry" in taken:
            index += 1
        name = f"dense_{index}"
        with op.context, ir.Location.unknown():
            lowering = planner(op, name, target, threads)
        if lowering is None:
            if op.name.startswith("pattern."):
                # No other route lowers the dialect's ops: say which one, not a bufferization error later.
                raise PassError(
                    op,
                    "cannot be lowered: its weights (and bias) must be constants and its "
                    "input batch 1",
                )
            return False
        _reuse_identical(lowering, name, emitted)
        with op.context, ir.Location.unknown():
            _replace(op, lowering, module)
        done.append(lowering)
        index += 1
        return True

    for op in [o for name in _PLANNERS for o in collect_ops(module, name)]:
        lower(op, _PLANNERS[op.name])
    # Contractions written as generics last, the generics collected afresh after each one:
    # a kernel erases the generics it fuses, and a wrapper collected before is not told.
    while any(lower(op, plan_generic_contraction) for op in collect_ops(module, "linalg.generic")):
        pass
    return done


def _reuse_identical(lowering: Lowering, name: str, emitted: dict[str, str]) -> None:
    """Calls an earlier kernel whose text equals this one's but for the name, instead of
    emitting a copy. Operands (weights included) are arguments, so a recurrent layer's steps
    or a transformer's identical layers share one kernel: LLVM compiles it once, not per use."""
    key = re.sub(rf"@{name}(?![0-9])", "@§", lowering.text)
    first = emitted.setdefault(key, name)
    if first != name:
        lowering.entry = first + lowering.entry[len(name) :]
        lowering.text = ""


@register_pass
@dataclass(frozen=True)
class VectorizeDense(CpuPass):
    """Tile and vectorise the dense linalg ops (convs, matmuls, pooling, elementwise) left after
    pattern lowering."""

    name: ClassVar[str] = "pattern-vectorize-dense"

    def apply(self, module: ir.Operation) -> None:
        target, threads = self.cpu_target(), self.threads
        check_tensor_sizes(
            module,
            CPU_MAX_ELEMENTS,
            "pattern-vectorize-dense",
            "beyond the memory of the CPUs targeted",
        )
        lower_kernels(module, target, threads)
        erase_dead(module)
        with module.context, ir.Location.unknown():
            allocate_reshaped_results(module)
        vectorize_rest(module, target.lanes)


def vectorize_rest(module: ir.Operation, lanes: int) -> list[tuple[str, str]]:
    """Route 2: the remaining linalg ops on tensors through the transform dialect."""
    read_slices_at_their_source(module)
    with module.context, ir.Location.unknown():
        generalize_row_moves(module)
    functions, ops = [], []
    for f in module.regions[0].blocks[0].operations:
        if f.operation.name != "func.func" or not f.regions[0].blocks:
            continue
        found = [
            o.operation
            for b in f.regions[0].blocks
            for o in b.operations
            if o.operation.name in ("linalg.generic", "linalg.fill")
            and any(isinstance(r.type, ir.RankedTensorType) for r in o.results)
        ]
        if found:
            functions.append(ir.StringAttr(f.attributes["sym_name"]).value)
            ops += found
    if not ops:
        return []
    with module.context, ir.Location.unknown():
        skipped = vectorize_ops(module, ops, lanes)
        lower_vectors(module, functions)
        gathers_as_shuffles(module)
    return skipped
