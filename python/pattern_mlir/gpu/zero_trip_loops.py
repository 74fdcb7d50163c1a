"""Work around MLIR 22's scf.for -> SPIR-V lowering of loop results.

Why: ``convert-scf-to-spirv`` (part of ``convert-gpu-to-spirv``) turns the results
of an ``scf.for`` with ``iter_args`` into Function variables that are stored only
inside the loop body; when the loop runs zero times the variable is never
written and the result is undefined (lavapipe reads 0) instead of the initial
value. Pattern-conv kernels hit this for every (filter, pattern) run that holds
no kernel, so before lowering every such loop whose trip count is not known to
be positive gets ``result = lb < ub ? result : init`` (one compare and a select
per result). test/python/gpu/test_zero_trip_loops.py pins the upstream bug, so
the workaround can be dropped once it is fixed.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith

from pattern_mlir.passes.utils.constants import scalar_constant
from pattern_mlir.passes.utils.conv_info import collect_ops


def guard_zero_trip_loops(root) -> int:
    """Rewrite as described above under ``root``; return how many loops were guarded."""
    count = 0
    for loop in collect_ops(root, "scf.for"):
        if len(loop.results) == 0:
            continue
        lb, ub = loop.operands[0], loop.operands[1]
        lo, hi = scalar_constant(lb), scalar_constant(ub)
        if lo is not None and hi is not None and lo < hi:
            continue
        inits = list(loop.operands)[3 : 3 + len(loop.results)]
        with ir.InsertionPoint.after(loop), loop.location:
            runs = arith.CmpIOp(arith.CmpIPredicate.slt, lb, ub).result
            for result, init in zip(loop.results, inits):
                chosen = arith.SelectOp(runs, result, init)
                result.replace_all_uses_except(chosen.result, chosen.operation)
        count += 1
    return count
