"""Map each top-level ``scf.parallel`` to a 1-D grid of fixed-size workgroups.

Why not ``scf-parallel-loop-tiling`` + ``gpu-map-parallel-loops`` directly: the
mapper gives each of the first three loop dimensions its own grid axis and runs
the rest sequentially, so a 4-D NCHW loop keeps one dimension serial and a
1 x C x 1 x 1 loop gets a workgroup of 1. Collapsing every loop nest to one
linear index first gives every elementwise, pooling, reduction or dense conv op
the same shape: ``ceil(total / WG)`` workgroups of ``WG`` invocations, one output
element each, with a bounds guard. The emitted nest (blocks outer, threads inner,
both 1-D) is then mapped by the upstream passes to ``gpu.launch``.
"""

from __future__ import annotations

import math

from mlir import ir
from mlir.dialects import arith, scf

from pattern_mlir.gpu.errors import GpuLoweringError
from pattern_mlir.passes.utils.constants import scalar_constant
from pattern_mlir.passes.utils.conv_info import collect_ops

#: Invocations per workgroup of the generic kernels (docs/gpu.md: no kernel depends on the subgroup size).
WORKGROUP = 64
#: The largest workgroup count Vulkan guarantees per grid axis.
MAX_GROUPS = 65535


def _constants(values, what, op) -> list[int]:
    out = []
    for v in values:
        c = scalar_constant(v)
        if c is None:
            raise GpuLoweringError(f"{what} of the loop at {op.location} is not a constant")
        out.append(c)
    return out


def linearize_parallel_loops(module: ir.Module) -> int:
    """Rewrite every scf.parallel directly inside a func.func; return how many."""
    for loop in collect_ops(module, "scf.for"):
        if loop.parent.operation.name == "func.func":
            _wrap_in_parallel(loop)
    count = 0
    top = [
        loop
        for loop in collect_ops(module, "scf.parallel")
        if loop.parent.operation.name == "func.func"
    ]
    for loop in top:
        # Parallel dimensions after a reduction (an op reducing an outer dimension) run
        # inside each invocation: the grid covers the dimensions before it.
        for inner in collect_ops(loop, "scf.parallel"):
            if inner != loop:
                _to_sequential(inner)
        _linearize(loop)
        count += 1
    return count


def _wrap_in_parallel(loop: ir.Operation) -> None:
    """A loop nest whose outer loop reduces (a linalg op whose every dimension reduces, or
    whose reduction dimension comes first) as the body of a one-iteration scf.parallel: one
    invocation runs it."""
    idx = ir.IndexType.get()
    with ir.InsertionPoint(loop), loop.location:
        c0, c1 = arith.constant(idx, 0), arith.constant(idx, 1)
        wrapper = scf.ParallelOp([], [c0], [c1], [c1], [])
        body = wrapper.regions[0].blocks.append(idx)
        with ir.InsertionPoint(body):
            reduce = scf.ReduceOp([], 0)
    loop.move_before(reduce.operation)


def _to_sequential(loop: ir.Operation) -> None:
    """An scf.parallel without reductions as a nest of scf.for loops."""
    if len(loop.results):
        raise GpuLoweringError(f"scf.parallel with reductions at {loop.location}")
    view = loop.opview
    ivs = []
    with ir.InsertionPoint(loop), loop.location:
        point = ir.InsertionPoint(loop)
        for lb, ub, step in zip(view.lowerBound, view.upperBound, view.step):
            with point:
                nest = scf.ForOp(lb, ub, step)
            ivs.append(nest.induction_variable)
            point = ir.InsertionPoint(nest.body)
            with point:
                terminator = scf.YieldOp([])
            point = ir.InsertionPoint(terminator)
    old = loop.regions[0].blocks[0]
    for arg, iv in zip(old.arguments, ivs):
        arg.replace_all_uses_with(iv)
    for op in list(old.operations):
        if op.name != "scf.reduce":
            op.move_before(terminator)
    loop.erase()


def _linearize(loop: ir.Operation) -> None:
    view = loop.opview
    if len(loop.results):
        raise GpuLoweringError(f"scf.parallel with reductions at {loop.location}")
    lbs = _constants(view.lowerBound, "lower bound", loop)
    ubs = _constants(view.upperBound, "upper bound", loop)
    steps = _constants(view.step, "step", loop)
    extents = [max(0, -(-(u - lo) // s)) for lo, u, s in zip(lbs, ubs, steps)]
    total = math.prod(extents)
    workgroup = WORKGROUP
    while math.ceil(total / workgroup) > MAX_GROUPS and workgroup < 1024:
        workgroup *= 2
    groups = max(1, math.ceil(total / workgroup))
    if groups > MAX_GROUPS:
        raise GpuLoweringError(f"loop at {loop.location} has {total} iterations: too many")
    idx = ir.IndexType.get()
    with ir.InsertionPoint(loop), loop.location:
        c0 = arith.constant(idx, 0)
        c1 = arith.constant(idx, 1)
        outer = scf.ParallelOp([], [c0], [arith.constant(idx, groups)], [c1], [])
        outer_body = outer.regions[0].blocks.append(idx)
        with ir.InsertionPoint(outer_body):
            inner = scf.ParallelOp([], [c0], [arith.constant(idx, workgroup)], [c1], [])
            inner_body = inner.regions[0].blocks.append(idx)
            scf.ReduceOp([], 0)
        with ir.InsertionPoint(inner_body):
            linear = arith.addi(
                arith.muli(outer_body.arguments[0], arith.constant(idx, workgroup)),
                inner_body.arguments[0],
            )
            inside = arith.cmpi(arith.CmpIPredicate.ult, linear, arith.constant(idx, total))
            guard = scf.IfOp(inside)
            scf.ReduceOp([], 0)
        with ir.InsertionPoint(guard.then_block):
            ivs = _delinearize(linear, extents, lbs, steps, idx)
            terminator = scf.YieldOp([])
    old = loop.regions[0].blocks[0]
    for arg, iv in zip(old.arguments, ivs):
        arg.replace_all_uses_with(iv)
    for op in list(old.operations):
        if op.name == "scf.reduce":
            continue
        op.move_before(terminator)
    loop.erase()


def _delinearize(linear, extents, lbs, steps, idx) -> list:
    ivs = [None] * len(extents)
    rest = linear
    for d in reversed(range(len(extents))):
        if d > 0:
            extent = arith.constant(idx, extents[d])
            digit = arith.remui(rest, extent)
            rest = arith.divui(rest, extent)
        else:
            digit = rest
        iv = digit
        if steps[d] != 1:
            iv = arith.muli(iv, arith.constant(idx, steps[d]))
        if lbs[d] != 0:
            iv = arith.addi(iv, arith.constant(idx, lbs[d]))
        ivs[d] = iv
    return ivs


def parallel_dimensions_first(module) -> int:
    """Reorders the loops of every linalg.generic whose reduction dimension comes before a
    parallel one (softmax over channels, a sum over dim 1) so that all parallel dimensions
    come first; returns how many. Each output element still reduces in the same order, so
    results are unchanged, but the grid then covers every parallel dimension instead of one
    invocation running the op."""
    count = 0
    for op in collect_ops(module, "linalg.generic"):
        kinds = [str(attr) for attr in op.attributes["iterator_types"]]
        parallel = [d for d, kind in enumerate(kinds) if "parallel" in kind]
        reduction = [d for d, kind in enumerate(kinds) if "parallel" not in kind]
        if not reduction or not parallel or max(parallel) < min(reduction):
            continue
        order = parallel + reduction  # order[new] = old
        new_of = [0] * len(order)
        for new, old in enumerate(order):
            new_of[old] = new
        permutation = ir.AffineMap.get_permutation(new_of)  # new dims -> old dims
        maps = []
        for attr in op.attributes["indexing_maps"]:
            old_map = ir.AffineMapAttr(attr).value
            maps.append(
                ir.AffineMap.get(
                    len(order),
                    old_map.n_symbols,
                    [expr.compose(permutation) for expr in old_map.results],
                )
            )
        op.attributes["indexing_maps"] = ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps])
        op.attributes["iterator_types"] = ir.ArrayAttr.get(
            [op.attributes["iterator_types"][old] for old in order]
        )
        for index in collect_ops(op, "linalg.index"):
            old = ir.IntegerAttr(index.attributes["dim"]).value
            index.attributes["dim"] = ir.IntegerAttr.get(
                ir.IntegerType.get_signless(64), new_of[old]
            )
        count += 1
    return count
