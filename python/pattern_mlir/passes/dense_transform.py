"""The transform-dialect half of pattern-vectorize-dense: elementwise and reducing linalg ops.

What dense_lower.py does not turn into kernels (activations, residual adds, bias adds,
global pooling written as `linalg.generic`, fills) is tiled and vectorised by upstream
transform ops, built here with the `mlir.dialects.transform` Python builders and run with
`transform.interpreter.apply_named_sequence`:

* elementwise ops whose operands are all identity-indexed or scalars are flattened to one
  dimension (`transform.structured.flatten_elementwise`; not for broadcasting maps such as a
  bias indexed by (d1): this release flattens those wrongly, treating the vector as a scalar);
* the innermost dimension is tiled by a few native vectors (`tile_using_for`), every other
  parallel dimension by 1, reduction dimensions not at all (they become
  `vector.multi_reduction`, when small enough);
* a remainder is split off first (`transform.structured.split` at the last full tile), so
  every part has static shapes and no masks are needed;
* every resulting linalg op is vectorised (`transform.structured.vectorize`).

One named sequence per op: an op the vectorizer rejects stays as it was (scalar loops later),
it never fails the compilation. A final sequence per function lowers the vector ops to what
convert-vector-to-llvm expects (rank-1 transfers, no multi-reductions, no n-D broadcasts).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import transform
from mlir.dialects.transform import interpreter, structured
from mlir.dialects.transform import vector as tvector

__all__ = ["VectorizePlan", "plan_vectorize", "vectorize_ops", "lower_vectors"]

TAG = "pattern.dense_vectorize"
MAX_REDUCTION = 4096  # reduction elements vectorised at once (larger ones stay loops)


@dataclass(frozen=True)
class VectorizePlan:
    flatten: bool
    tile_sizes: tuple[int, ...]  # 0 = not tiled
    split: int = 0  # > 0: split the innermost dimension here (the rest is one remainder tile)


def _static_f32(t: ir.Type) -> bool:
    if isinstance(t, ir.RankedTensorType):
        return t.has_static_shape and str(t.element_type) == "f32"
    return str(t) == "f32"


def _maps(op: ir.Operation) -> list[ir.AffineMap]:
    return [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]


def _iterators(op: ir.Operation) -> list[str]:
    return [str(a).split("<")[-1].rstrip(">") for a in ir.ArrayAttr(op.attributes["iterator_types"])]


def plan_vectorize(op: ir.Operation, lanes: int) -> VectorizePlan | None:
    """How to vectorise `op` (a linalg op on static f32 tensors), or None to leave it."""
    if not all(_static_f32(v.type) for v in op.operands) or not all(_static_f32(r.type) for r in op.results):
        return None
    if op.name == "linalg.fill":
        shape = list(op.results[0].type.shape)
        return _plan_parallel([_prod(shape)] if len(shape) > 1 else shape, lanes, flatten=len(shape) > 1)
    if op.name != "linalg.generic" or len(op.results) != 1:
        return None
    body = op.regions[0].blocks[0]
    if any(o.operation.name == "linalg.index" for o in body.operations):
        return None
    iterators = _iterators(op)
    shape = list(op.results[0].type.shape)
    out_map = _maps(op)[-1]
    if len(shape) != len(iterators) or not out_map.is_permutation or out_map != ir.AffineMap.get_identity(len(shape)):
        # Reductions: the output drops (or pins to 0) the reduced dims; read loop sizes from the input.
        return _plan_reduction(op, iterators)
    if any(it != "parallel" for it in iterators):
        return None
    maps = _maps(op)
    identity = ir.AffineMap.get_identity(len(shape))
    flat = all(m == identity or len(m.results) == 0 for m in maps)
    if flat and len(shape) > 1:
        return _plan_parallel([_prod(shape)], lanes, flatten=True)
    return _plan_parallel(shape, lanes, flatten=False)


def _prod(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _plan_parallel(shape: list[int], lanes: int, flatten: bool) -> VectorizePlan:
    tile = 4 * lanes
    inner = shape[-1] if shape else 1
    sizes = [1] * (len(shape) - 1) + ([min(tile, inner)] if shape else [])
    if shape and inner <= tile:
        sizes[-1] = 0  # whole innermost dimension in one vector
    sizes = [0 if d == 1 else s for d, s in zip(shape, sizes)]
    split = inner - inner % tile if shape and inner > tile and inner % tile else 0
    return VectorizePlan(flatten, tuple(sizes), split)


def _plan_reduction(op: ir.Operation, iterators: list[str]) -> VectorizePlan | None:
    # Loop sizes: from an identity-indexed input.
    sizes = None
    for value, m in zip(op.operands, _maps(op)):
        if m == ir.AffineMap.get_identity(len(iterators)) and isinstance(value.type, ir.RankedTensorType):
            sizes = list(value.type.shape)
    if sizes is None:
        return None
    reduced = _prod([d for d, it in zip(sizes, iterators) if it == "reduction"])
    if reduced > MAX_REDUCTION:
        return None
    tiles = tuple(0 if it == "reduction" or d == 1 else 1 for d, it in zip(sizes, iterators))
    return VectorizePlan(False, tiles)


def _any() -> ir.Type:
    return transform.AnyOpType.get()


def _sequence(build) -> ir.Module:
    """A transform module with @__transform_main built by `build(root)`."""
    module = ir.Module.create()
    module.operation.attributes["transform.with_named_sequence"] = ir.UnitAttr.get()
    with ir.InsertionPoint(module.body):
        seq = transform.NamedSequenceOp("__transform_main", [_any()], [],
                                        arg_attrs=[{"transform.readonly": ir.UnitAttr.get()}])
        with ir.InsertionPoint(seq.body):
            build(seq.bodyTarget)
            transform.YieldOp([])
    return module


def _match_tag(root: ir.Value, index: int) -> ir.Value:
    attrs = ir.DictAttr.get({TAG: ir.IntegerAttr.get(ir.IntegerType.get_signless(64), index)})
    return structured.MatchOp(_any(), root, op_attrs=attrs).result


def _linalg_in(handle: ir.Value) -> ir.Value:
    return structured.MatchOp(_any(), handle, interface=structured.MatchInterfaceEnum.LinalgOp).result


def _script(index: int, plan: VectorizePlan) -> ir.Module:
    def tile_and_vectorize(target: ir.Value, sizes: tuple[int, ...]) -> None:
        if not any(sizes):
            structured.VectorizeOp(target)
            return
        tiled = structured.TileUsingForOp(target, sizes=list(sizes))
        structured.VectorizeOp(tiled.tiled_linalg_op)

    def build(root: ir.Value) -> None:
        target = _match_tag(root, index)
        if plan.flatten:
            target = structured.FlattenElementwiseLinalgOp(_any(), target).result
        if not plan.split:
            tile_and_vectorize(target, plan.tile_sizes)
            return
        # Split the innermost dimension at the last full tile: both parts have static shapes.
        dim = len(plan.tile_sizes) - 1
        parts = structured.SplitOp(target, dim, plan.split).result
        main, rest = transform.SplitHandleOp([_any(), _any()], parts).results
        tile_and_vectorize(main, plan.tile_sizes)
        tile_and_vectorize(rest, plan.tile_sizes[:-1] + (0,))

    return _sequence(build)


def _run(payload: ir.Operation, script: ir.Module) -> None:
    script.operation.verify()
    interpreter.apply_named_sequence(payload, script.body.operations[0], script)


def vectorize_ops(module: ir.Operation, ops: list[ir.Operation], lanes: int) -> list[tuple[ir.Operation, str]]:
    """Tiles and vectorises each op; returns the ops left alone, with the reason."""
    skipped = []
    plans = [plan_vectorize(op, lanes) for op in ops]
    names = [op.name for op in ops]  # an op's handle dies when its transform replaces it
    for index, (op, plan) in enumerate(zip(ops, plans)):
        if plan is None:
            skipped.append((names[index], "not a static elementwise or small reduction op"))
            continue
        op.attributes[TAG] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), index)
    for index, plan in enumerate(plans):
        if plan is None:
            continue
        try:
            _run(module, _script(index, plan))
        except ValueError as error:  # the interpreter reports a failed transform this way
            skipped.append((names[index], str(error).splitlines()[-1]))
    # Clones made by tiling or peeling keep the tag; drop it everywhere.
    _strip_tags(module)
    return skipped


def _strip_tags(module: ir.Operation) -> None:
    tagged = []

    def visit(op):
        if TAG in op.attributes:
            tagged.append(op.operation if isinstance(op, ir.OpView) else op)
        return ir.WalkResult.ADVANCE

    module.walk(visit)
    for op in tagged:
        del op.attributes[TAG]


def lower_vectors(module: ir.Operation, functions: list[str]) -> None:
    """Lowers the vector ops of `functions` to rank-1 transfers, FMAs and reductions."""

    def build(root: ir.Value) -> None:
        for name in functions:
            attrs = ir.DictAttr.get({"sym_name": ir.StringAttr.get(name)})
            f = structured.MatchOp(_any(), root, ops=ir.ArrayAttr.get([ir.StringAttr.get("func.func")]),
                                   op_attrs=attrs).result
            patterns = transform.ApplyPatternsOp(f)
            with ir.InsertionPoint(patterns.patterns):
                tvector.ApplyLowerMultiReductionPatternsOp(
                    lowering_strategy=tvector.VectorMultiReductionLowering.InnerReduction)
                tvector.ApplyTransferPermutationPatternsOp()
                tvector.ApplyLowerTransferPatternsOp(max_transfer_rank=1)
                tvector.ApplyLowerBroadcastPatternsOp()
                tvector.ApplyLowerShapeCastPatternsOp()
                tvector.ApplyCastAwayVectorLeadingOneDimPatternsOp()
                transform.ApplyCanonicalizationPatternsOp()
            transform.ApplyCommonSubexpressionEliminationOp(f)

    _run(module, _sequence(build))
