"""The transform-dialect half of pattern-vectorize-dense: elementwise and reducing linalg ops.

What passes/dense/plans.py does not turn into kernels (activations, residual adds, bias adds,
softmax, means and global pooling written as `linalg.generic`, fills) is tiled and
vectorised by upstream transform ops, built here with the `mlir.dialects.transform` Python
builders and run with `transform.interpreter.apply_named_sequence`:

* first, f64 arithmetic that torch-mlir writes inside f32 functions (a norm's variance) is
  done in f32 (passes/dense/demote.py), and elementwise producers are inlined into the generics
  that read them (passes/dense/fuse.py): a norm's squared deviations become part of their sum;
* values an elementwise generic computes once per row with a math function or a division
  (a log-softmax's log of the sum, a LayerNorm's rsqrt) are computed by generics over the
  rows, in vectors, and read from there (passes/dense/hoist.py);
* positions read by `tensor.extract` that come from index tables are evaluated at compile
  time (passes/dense/positions.py): a row whose positions are pieces of lines (padding) is split
  into those pieces, each read contiguously, and a cheap producer read that way (padding's
  first pass) is computed at the read (fuse.inline_gathered);
* f32 and f64 ops (torch-mlir computes a norm's variance in f64), the bounds below counted
  in native vectors of the op's widest type;
* elementwise ops whose operands are all identity-indexed or scalars are flattened to one
  dimension (`transform.structured.flatten_elementwise`; not for broadcasting maps such as a
  bias indexed by (d1): this release flattens those wrongly, treating the vector as a scalar);
* the innermost loop is the vector: tiled by a few native vectors (`tile_using_for`) when
  parallel; every other loop is tiled by 1, reduction loops included (a reduction over a
  non-innermost dimension accumulates whole vectors in a sequential loop, run inside the
  output's tile loops with the accumulator in registers, on loops merged where the
  operands allow: passes/dense/collapse.py). Only a trailing
  run of reduction loops small enough for one bounded vector is left whole (it becomes one
  `vector.reduction` per output element; a long max or min one is first combined pairwise
  in pieces, `_as_tree`). No op, whatever its shape, gets a vector larger than those
  bounds (see `plan_vectorize`);
* a remainder is split off first (`transform.structured.split` at the last full tile), so
  every part has static shapes and no masks are needed;
* every resulting linalg op is vectorised (`transform.structured.vectorize`), reads at
  computed positions (`tensor.extract` in the body: resampling, padding) included, as
  contiguous loads where the vectorizer proves them so and gathers otherwise. An op whose
  body reads `linalg.index` is not flattened: every position would become divisions of the
  flat index.

One named sequence per op: an op the vectorizer rejects stays as it was (scalar loops later),
it never fails the compilation. Final sequences per function lower the vector ops to what
convert-vector-to-llvm expects (rank-1 transfers, no multi-reductions, no n-D broadcasts),
simplifying and lowering in separate rewrites (see `lower_vectors`); elementwise ops on
broadcasts then run before the broadcast (a norm's rsqrt, a log-softmax's log: once per
row, not per vector).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import transform
from mlir.dialects.transform import interpreter, structured
from mlir.dialects.transform import loop as loop_transform
from mlir.dialects.transform import vector as tvector

from ..utils.constants import defining_op
from ..utils.generic_ops import indexing_maps, iterator_types
from .collapse import collapse_loops
from .demote import demote_f64
from .fuse import fuse_producers, inline_gathered, loop_sizes
from .hoist import divide_by_reciprocals, hoist_row_values
from .positions import rewrite_positions, split_rows

__all__ = [
    "VectorizePlan",
    "generalize_row_moves",
    "lower_vectors",
    "plan_vectorize",
    "vectorize_ops",
]

TAG = "pattern.dense_vectorize"
KEEP_ORDER = "pattern.dense_keep_order"  # reductions that were there before lower_vectors
TILE_VECTORS = 4  # native vectors per tile of an innermost parallel dimension
REDUCTION_VECTORS = 16  # native vectors in the vector of an innermost reduction
MAX_ROWS = 16  # rank-1 rows of one vector: transfers and shape casts are unrolled per row


@dataclass(frozen=True)
class VectorizePlan:
    flatten: bool
    tile_sizes: tuple[int, ...]  # 0 = not tiled
    split: int = 0  # > 0: split the innermost dimension here (the rest is one remainder tile)
    # Loop order of the tiling (a permutation of the op's loops), () for the op's own; the
    # last `accumulate` loops of that order are reductions whose accumulator is loop
    # invariant and held in registers (see `_accumulating`).
    interchange: tuple[int, ...] = ()
    accumulate: int = 0
    # > 0: the innermost loop is a reduction tiled by this many elements into a vector of
    # partial results, combined once per output element (see `_partial_reduction`).
    partial: int = 0


def _static_float(t: ir.Type) -> bool:
    """f32, or f64 (torch-mlir computes the variance of LayerNorm and GroupNorm in f64)."""
    if isinstance(t, ir.RankedTensorType):
        return t.has_static_shape and str(t.element_type) in ("f32", "f64")
    return str(t) in ("f32", "f64")


def _has_f64(op: ir.Operation) -> bool:
    return any("f64" in str(v.type) for v in [*op.operands, *op.results])


def _static_int(t: ir.Type) -> bool:
    return (
        isinstance(t, ir.RankedTensorType)
        and t.has_static_shape
        and isinstance(t.element_type, ir.IntegerType)
    )


def plan_vectorize(op: ir.Operation, lanes: int) -> VectorizePlan | None:
    """How to vectorise `op` (a linalg op on static f32 or f64 tensors), or None to leave it.

    Every plan is bounded whatever the shapes: a vector has at most TILE_VECTORS native
    vectors in one row (REDUCTION_VECTORS in at most MAX_ROWS rows for an innermost
    reduction), so vectorising, lowering the vectors (which unrolls them row by row and,
    for ordered float reductions, lane by lane) and LLVM's code generation stay small
    whatever the tensor. What does not fit is tiled further (loops), never vectorised
    whole.
    """
    if not all(_static_float(v.type) or _static_int(v.type) for v in op.operands):
        return None
    if not all(_static_float(r.type) for r in op.results):
        return None
    if _has_f64(op):  # bounds count native vectors: half as many f64 lanes
        lanes = max(1, lanes // 2)
    tile = TILE_VECTORS * lanes
    if op.name == "linalg.fill":
        shape = list(op.results[0].type.shape)
        if 0 in shape:
            return None
        flat = len(shape) > 1
        return _plan_parallel([_prod(shape)] if flat else shape, tile, flatten=flat)
    if op.name != "linalg.generic" or len(op.results) != 1:
        return None
    body = op.regions[0].blocks[0]
    iterators = iterator_types(op)
    maps = indexing_maps(op)
    sizes = loop_sizes(op, maps)
    if not iterators or sizes is None or 0 in sizes:
        return None
    if _gathers_through_table(op, body, maps):
        return None
    identity = ir.AffineMap.get_identity(len(sizes))
    if all(it == "parallel" for it in iterators) and maps[-1] == identity:
        indexed = any(o.operation.name == "linalg.index" for o in body.operations)
        flat = not indexed and all(m == identity or len(m.results) == 0 for m in maps)
        if flat and len(sizes) > 1:
            return _plan_parallel([_prod(sizes)], tile, flatten=True)
        return _plan_parallel(sizes, tile, flatten=False)
    plan = _plan_reduction(sizes, iterators, tile, _reduction_vectors(body) * lanes)
    return _partial_reduction(plan, iterators, maps, body)


def _reduction_vectors(body: ir.Block) -> int:
    """Native vectors in the vector of an innermost reduction: REDUCTION_VECTORS, or
    TILE_VECTORS where the body computes a math function (a log-softmax's exp) whose
    expansion needs several registers per vector: sixteen vectors of it at once spill."""
    if any(o.operation.name.startswith("math.") for o in body.operations):
        return TILE_VECTORS
    return REDUCTION_VECTORS


def _gathers_through_table(op: ir.Operation, body: ir.Block, maps: list[ir.AffineMap]) -> bool:
    """Whether `op` still reads its input at positions taken, lane by lane, from an integer
    table (passes/dense/positions.py rewrites those it can evaluate). Vectorised,
    every lane becomes a gather whose address is 64-bit vector arithmetic on the table,
    slower than the scalar loop; positions computed from `linalg.index` (nearest and
    bilinear resampling) or uniform along the row (a channel index) vectorise well."""
    if not any(o.operation.name == "tensor.extract" for o in body.operations):
        return False
    innermost = maps[0].n_dims - 1
    for value, m, argument in zip(op.operands, maps, body.arguments):
        if (
            _static_int(value.type)
            and next(iter(argument.uses), None) is not None
            and any(isinstance(e, ir.AffineDimExpr) and e.position == innermost for e in m.results)
        ):
            return True
    return False


def _prod(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _plan_parallel(shape: list[int], tile: int, flatten: bool) -> VectorizePlan:
    """Every dimension but the innermost tiled by 1, the innermost by `tile`: vectors of at
    most `tile` elements in one row."""
    sizes = [0 if d == 1 else 1 for d in shape]
    if shape:
        sizes[-1], split = _inner(shape[-1], tile)
    else:
        split = 0
    return VectorizePlan(flatten, tuple(sizes), split)


def _inner(extent: int, tile: int) -> tuple[int, int]:
    """(tile size, split point) of an innermost dimension vectorised `tile` at a time: whole
    when it fits, else full tiles and one remainder split off (both with static shapes)."""
    if extent <= tile:
        return 0, 0
    return tile, extent - extent % tile if extent % tile else 0


def _plan_reduction(sizes: list[int], iterators: list[str], tile: int, bound: int) -> VectorizePlan:
    """Reductions (and permuting or broadcasting parallel ops), with bounded vectors.

    The vector runs along the innermost loop. Every loop outside the trailing run of
    reduction loops is tiled by 1: a reduction over a non-innermost dimension (a channel
    mean in NCHW, softmax over channels) becomes a sequential loop that accumulates whole
    vectors of the innermost parallel dimension, never a multi-reduction across rows.
    The trailing reduction loops (a mean over the last dimension, global pooling over HxW)
    are kept whole when they fit in one bounded vector (one vector.reduction per output
    element); otherwise all of them but the innermost are tiled by 1 too, and the innermost
    by the bound if it is larger (partial reductions accumulated in order).
    """
    rank = len(sizes)
    first = rank
    while first > 0 and iterators[first - 1] == "reduction":
        first -= 1
    tiles = [0 if d == 1 else 1 for d in sizes]
    if first == rank:  # innermost loop parallel: vectors of `tile` along it
        tiles[-1], split = _inner(sizes[-1], tile)
        return _accumulating(VectorizePlan(False, tuple(tiles), split), sizes, iterators)
    elements = _prod(sizes[first:])
    if elements <= bound and elements // sizes[-1] <= MAX_ROWS:
        tiles[first:] = [0] * (rank - first)
        return VectorizePlan(False, tuple(tiles), 0)
    tiles[-1], split = _inner(sizes[-1], bound)
    return VectorizePlan(False, tuple(tiles), split)


_COMBINERS = ("arith.addf", "arith.maximumf", "arith.minimumf", "arith.maxnumf", "arith.minnumf")


def _partial_reduction(
    plan: VectorizePlan, iterators: list[str], maps: list[ir.AffineMap], body: ir.Block
) -> VectorizePlan:
    """`plan` with its tiled innermost reduction (a log-softmax's sum of exponentials over a
    row longer than one vector) accumulated in a vector of partial results, one lane per
    position in the tile, and combined across lanes once per output element. Tiled plainly,
    every tile ends in a reduction across its lanes added to the accumulator in memory: a
    chain of dependent shuffles and adds per tile.

    Only for one trailing reduction loop whose body ends in one combining op of the
    accumulator (upstream's tiling to partial reductions recognises no other)."""
    tile = plan.tile_sizes[-1] if plan.tile_sizes else 0
    if not tile or iterators[-1] != "reduction" or iterators.count("reduction") != 1:
        return plan
    if plan.interchange or plan.accumulate:
        return plan
    # Upstream's tiling takes every map result for a loop (it asserts so).
    if not all(isinstance(e, ir.AffineDimExpr) for m in maps for e in m.results):
        return plan
    ops = [o.operation for o in body.operations]
    combiner = defining_op(ops[-1].operands[0]) if len(ops[-1].operands) == 1 else None
    accumulator = body.arguments[len(body.arguments) - 1]
    if combiner is None or combiner.name not in _COMBINERS or accumulator not in combiner.operands:
        return plan
    if sum(1 for _ in accumulator.uses) != 1:
        return plan
    return VectorizePlan(plan.flatten, plan.tile_sizes[:-1] + (0,), plan.split, partial=tile)


def _accumulating(plan: VectorizePlan, sizes: list[int], iterators: list[str]) -> VectorizePlan:
    """`plan` with its reduction loops (all but the innermost loop, which is parallel) moved
    inside the other tiled loops: for each tile of the output, the reduction loops then run
    innermost and its accumulator is loaded once, kept in registers over them and stored
    once (a channel mean would otherwise read and write the output row once per channel).

    Only where the vector of the (main) tile has a power-of-two length: LLVM carries a
    loop value of another length (56 floats) lane by lane. A remainder tile split off
    keeps reading and writing the output per step."""
    reductions = [d for d, it in enumerate(iterators) if it == "reduction" and plan.tile_sizes[d]]
    vector = plan.tile_sizes[-1] or sizes[-1]
    if not reductions or vector & (vector - 1):
        return plan
    # Every parallel loop outside, the innermost's tile loop too: the reductions run
    # around one tile's vector.
    parallel = [d for d, it in enumerate(iterators) if it == "parallel"]
    interchange = (*parallel, *[d for d, it in enumerate(iterators) if it == "reduction"])
    return VectorizePlan(plan.flatten, plan.tile_sizes, plan.split, interchange, len(reductions))


def _any() -> ir.Type:
    return transform.AnyOpType.get()


def _sequence(build) -> ir.Module:
    """A transform module with @__transform_main built by `build(root)`."""
    module = ir.Module.create()
    module.operation.attributes["transform.with_named_sequence"] = ir.UnitAttr.get()
    with ir.InsertionPoint(module.body):
        seq = transform.NamedSequenceOp(
            "__transform_main", [_any()], [], arg_attrs=[{"transform.readonly": ir.UnitAttr.get()}]
        )
        with ir.InsertionPoint(seq.body):
            build(seq.bodyTarget)
            transform.YieldOp([])
    return module


def _match_tag(root: ir.Value, index: int) -> ir.Value:
    attrs = ir.DictAttr.get({TAG: ir.IntegerAttr.get(ir.IntegerType.get_signless(64), index)})
    return structured.MatchOp(_any(), root, op_attrs=attrs).result


def _linalg_in(handle: ir.Value) -> ir.Value:
    return structured.MatchOp(
        _any(), handle, interface=structured.MatchInterfaceEnum.LinalgOp
    ).result


def _script(index: int, plan: VectorizePlan) -> ir.Module:
    def tile_and_vectorize(target: ir.Value, sizes: tuple[int, ...], accumulate: int) -> None:
        if not any(sizes):
            structured.VectorizeOp(target, vectorize_nd_extract=True)
            return
        tiled = structured.TileUsingForOp(
            target, sizes=list(sizes), interchange=list(plan.interchange) or None
        )
        structured.VectorizeOp(tiled.tiled_linalg_op, vectorize_nd_extract=True)
        if accumulate:
            _hoist_accumulator(list(tiled.loops)[-accumulate:])

    def partial_reduction(target: ir.Value) -> None:
        if any(plan.tile_sizes):
            target = structured.TileUsingForOp(target, sizes=list(plan.tile_sizes)).tiled_linalg_op
        sizes = [0] * (len(plan.tile_sizes) - 1) + [plan.partial]
        tiled = structured.TileReductionUsingForOp(
            [_any()], _any(), _any(), _any(), target, tile_sizes=sizes
        )
        fill, split, combine, loop = tiled.results  # one fill: one reduced result
        for part in (fill, split, combine):
            structured.VectorizeOp(part, vectorize_nd_extract=True)
        _hoist_accumulator([loop])

    def build(root: ir.Value) -> None:
        target = _match_tag(root, index)
        if plan.flatten:
            target = structured.FlattenElementwiseLinalgOp(_any(), target).result
        main, rest = target, None
        if plan.split:
            # Split the innermost dimension at the last full tile: both parts have static
            # shapes.
            dim = len(plan.tile_sizes) - 1
            parts = structured.SplitOp(target, dim, plan.split).result
            main, rest = transform.SplitHandleOp([_any(), _any()], parts).results
        if plan.partial:
            partial_reduction(main)
        else:
            tile_and_vectorize(main, plan.tile_sizes, plan.accumulate)
        if rest is not None:
            tile_and_vectorize(rest, plan.tile_sizes[:-1] + (0,), 0)

    return _sequence(build)


def _hoist_accumulator(reduction_loops: list[ir.Value]) -> None:
    """Moves the read and the write of the accumulator out of the reduction loops.

    The hoist matches a read with a write of the same subset only if their indices are the
    same values defined outside the loop; the vectorizer writes them as separate constants
    inside it, so those are deduplicated and moved out first. Innermost loop first, each
    hoisted twice: the slice of the output, then the vector read and write of that slice,
    become iter_args of the loop around it."""
    with ir.InsertionPoint(transform.ApplyPatternsOp(reduction_loops[0]).patterns):
        transform.ApplyCanonicalizationPatternsOp()
    transform.ApplyCommonSubexpressionEliminationOp(reduction_loops[0])
    for loop in reversed(reduction_loops):
        transform.ApplyLoopInvariantCodeMotionOp(loop)
        loop_transform.HoistLoopInvariantSubsetsOp(loop)
        loop_transform.HoistLoopInvariantSubsetsOp(loop)
    # The accumulator is now a vector iter_arg with the tile's unit dimensions, which
    # lower_vectors cannot cast away through the loop: LLVM would get an array of
    # vectors and carry it lane by lane. Rank 1 before that.
    around = transform.GetParentOp(_any(), reduction_loops[0]).result
    with ir.InsertionPoint(transform.ApplyPatternsOp(around).patterns):
        tvector.ApplyDropUnitDimWithShapeCastPatternsOp()


ROW_MOVE = "pattern.row_move"


def generalize_row_moves(module: ir.Operation) -> int:
    """Every `linalg.transpose` that keeps the last dimension last (attention moving heads
    in front of tokens and back: whole rows move) as the `linalg.generic` it stands for,
    which the tiling below reads and writes a row at a time; returns how many. As named
    ops they reached bufferization whole, ran as scalar loops, and a result returned
    through a reshape was copied once more. Transposes of the last dimension stay: read
    along a column, a vector is one element per row (a matmul's k^T is transposed in its
    kernel's entry, passes/dense/contraction.py)."""
    moves = []

    def visit(op):
        op = op.operation if isinstance(op, ir.OpView) else op
        if op.name == "linalg.transpose" and isinstance(op.results[0].type, ir.RankedTensorType):
            permutation = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
            if permutation and permutation[-1] == len(permutation) - 1:
                moves.append(op)
        return ir.WalkResult.ADVANCE

    module.walk(visit)
    if not moves:
        return 0
    for op in moves:
        op.attributes[ROW_MOVE] = ir.UnitAttr.get()

    def build(root: ir.Value) -> None:
        attrs = ir.DictAttr.get({ROW_MOVE: ir.UnitAttr.get()})
        found = structured.MatchOp(_any(), root, op_attrs=attrs).result
        structured.GeneralizeOp(found)

    _run(module, _sequence(build))

    def strip(op):
        op = op.operation if isinstance(op, ir.OpView) else op
        if ROW_MOVE in op.attributes:
            del op.attributes[ROW_MOVE]
        return ir.WalkResult.ADVANCE

    module.walk(strip)
    return len(moves)


def _run(payload: ir.Operation, script: ir.Module) -> None:
    script.operation.verify()
    interpreter.apply_named_sequence(payload, script.body.operations[0], script)


def vectorize_ops(
    module: ir.Operation, ops: list[ir.Operation], lanes: int
) -> list[tuple[ir.Operation, str]]:
    """Tiles and vectorises each op; returns the ops left alone, with the reason."""
    skipped = []
    for op in ops:
        divide_by_reciprocals(op)
    ops = [
        piece
        for op in fuse_producers(demote_f64(ops))
        for piece in split_rows(op, _whole_row(op, lanes))
    ]
    for op in ops:
        rewrite_positions(op, _whole_row(op, lanes))
    ops = inline_gathered(ops)
    _own_outputs(ops)
    ops = [collapse_loops(op) for op in ops]
    ops = [piece for op in ops for piece in _with_row_values(op)]
    plans = [plan_vectorize(op, lanes) for op in ops]
    names = [op.name for op in ops]  # an op's handle dies when its transform replaces it
    for index, (op, plan) in enumerate(zip(ops, plans)):
        if plan is None:
            skipped.append(
                (
                    names[index],
                    "not one f32/f64 result on static tensors, or a gather through an index table",
                )
            )
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


def _own_outputs(ops: list[ir.Operation]) -> None:
    """Gives each op whose output starts as a `tensor.empty` a fresh allocation of its own.

    CSE makes one `tensor.empty` of every type, so a softmax's exponentials and its
    quotients start from the same tensor; the pass writing the quotients reads the
    exponentials, written in place of that tensor, and bufferization copied one of them
    away, part by part, twice per pass. `bufferization.alloc_tensor` is an allocation,
    which CSE keeps apart: each result gets a buffer (the last one the caller's).

    A result whose one use is a reshape (attention's heads moved back behind the tokens,
    then merged into channels) is allocated in the reshaped shape and written through the
    inverse reshape: the function then returns the allocation itself, which the caller's
    buffer replaces, where a reshape of it was copied there."""
    for op in ops:
        init = op.operands[len(op.operands) - 1]
        if defining_op(init, "tensor.empty") is None or init.type != op.results[0].type:
            continue
        users = [use.owner for use in op.results[0].uses]
        reshape = users[0] if len(users) == 1 else None
        if reshape is not None and (
            reshape.name not in _INVERSE_RESHAPE
            or not ir.RankedTensorType(reshape.results[0].type).has_static_shape
        ):
            reshape = None
        with ir.InsertionPoint(op), op.location:
            fresh = _alloc_tensor(reshape.results[0].type if reshape else init.type)
            if reshape is not None:
                attributes = {"reassociation": reshape.attributes["reassociation"]}
                if _INVERSE_RESHAPE[reshape.name] == "tensor.expand_shape":
                    attributes["static_output_shape"] = ir.DenseI64ArrayAttr.get(
                        list(ir.RankedTensorType(init.type).shape)
                    )
                fresh = ir.Operation.create(
                    _INVERSE_RESHAPE[reshape.name],
                    results=[init.type],
                    operands=[fresh],
                    attributes=attributes,
                ).result
        op.operands[len(op.operands) - 1] = fresh


_INVERSE_RESHAPE = {
    "tensor.collapse_shape": "tensor.expand_shape",
    "tensor.expand_shape": "tensor.collapse_shape",
}


def _alloc_tensor(t: ir.Type) -> ir.Value:
    return ir.Operation.create(
        "bufferization.alloc_tensor",
        results=[t],
        operands=[],
        attributes={"operandSegmentSizes": ir.DenseI32ArrayAttr.get([0, 0, 0])},
    ).result


def _whole_row(op: ir.Operation, lanes: int) -> int:
    """The longest innermost loop of `op` that `plan_vectorize` leaves untiled."""
    return TILE_VECTORS * (max(1, lanes // 2) if _has_f64(op) else lanes)


def _with_row_values(op: ir.Operation) -> list[ir.Operation]:
    """The generics that compute `op`'s expensive per-row values (passes/dense/hoist.py), then
    `op` reading them."""
    op, rows = hoist_row_values(op)
    return [*rows, op]


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
    """Lowers the vector ops of `functions` to rank-1 transfers, FMAs and reductions.

    Four greedy rewrites, one after the other, never one with every pattern:
    1. simplify: canonical forms, leading unit dimensions cast away, transfer permutations
       as transposes. A multi-reduction over unit dimensions (what a reduction loop tiled
       by 1 leaves) becomes an elementwise op here, before step 2 would unroll it lane by
       lane;
    2. the same with the remaining multi-reductions (over innermost dimensions) lowered to
       vector.reduction;
    3. lower only: n-D transfers, broadcasts, shape casts and transposes to rank-1 ops,
       inserts and extracts. Each of these patterns makes ranks smaller or ops simpler, so
       this rewrite terminates;
    4. sink: an elementwise op whose operands are broadcasts (of one row's value) becomes
       the broadcast of the op on the scalar.
    Lowering and simplifying patterns together never reach a fixed point: broadcast
    lowering writes `vector<8x1xf32> -> vector<1x8x1xf32>` as an insert into poison, which
    casting away the leading unit dimension (or canonicalisation) turns back into the same
    broadcast, and the driver alternates forever, allocating as it goes (max_num_rewrites
    on apply_patterns does not stop it in this release). A softmax or mean over channels
    makes such vectors.
    """

    def build(root: ir.Value) -> None:
        for name in functions:
            attrs = ir.DictAttr.get({"sym_name": ir.StringAttr.get(name)})
            f = structured.MatchOp(
                _any(), root, ops=ir.ArrayAttr.get([ir.StringAttr.get("func.func")]), op_attrs=attrs
            ).result
            for reductions in (False, True):
                simplify = transform.ApplyPatternsOp(f)
                with ir.InsertionPoint(simplify.patterns):
                    if reductions:
                        tvector.ApplyLowerMultiReductionPatternsOp(
                            lowering_strategy=tvector.VectorMultiReductionLowering.InnerReduction
                        )
                    tvector.ApplyTransferPermutationPatternsOp()
                    tvector.ApplyCastAwayVectorLeadingOneDimPatternsOp()
                    transform.ApplyCanonicalizationPatternsOp()
            lower = transform.ApplyPatternsOp(f)
            with ir.InsertionPoint(lower.patterns):
                tvector.ApplyLowerTransferPatternsOp(max_transfer_rank=1)
                tvector.ApplyLowerBroadcastPatternsOp()
                tvector.ApplyLowerShapeCastPatternsOp()
                tvector.ApplyLowerTransposePatternsOp()
            sink = transform.ApplyPatternsOp(f)
            with ir.InsertionPoint(sink.patterns):
                tvector.ApplySinkVectorPatternsOp()
            transform.ApplyCommonSubexpressionEliminationOp(f)

    for op in _reductions(module, functions):
        op.attributes[KEEP_ORDER] = ir.UnitAttr.get()
    _run(module, _sequence(build))
    reductions = _reductions(module, functions)
    _reassociate(reductions)
    for op in reductions:
        _as_tree(op)


TREE_CHUNK = 16  # lanes of the pieces a long max or min reduction is first combined in
_ELEMENTWISE = {
    "maximumf": "arith.maximumf",
    "minimumf": "arith.minimumf",
    "maxnumf": "arith.maxnumf",
    "minnumf": "arith.minnumf",
}


def _as_tree(op: ir.Operation) -> None:
    """A max or min reduction of a long vector as pieces combined pairwise, then one
    reduction of a piece. LLVM splits a vector whose length is not a power of two (a
    log-softmax's row of 192) into legal vectors it combines one after the other, each
    step (a NaN-propagating max is six instructions on x86) waiting for the last; the
    pairwise tree computes the same value (max and min are associative) in a few steps."""
    kind = str(op.attributes["kind"]).split("<")[-1].rstrip(">")
    source = op.operands[0]
    t = ir.VectorType(source.type)
    if kind not in _ELEMENTWISE or t.rank != 1 or t.shape[0] <= TREE_CHUNK:
        return
    if t.shape[0] % TREE_CHUNK:
        return
    piece_type = ir.VectorType.get([TREE_CHUNK], t.element_type)
    i64 = ir.IntegerType.get_signless(64)

    def array(values):
        return ir.ArrayAttr.get([ir.IntegerAttr.get(i64, v) for v in values])

    with op.location, ir.InsertionPoint(op):
        pieces = [
            ir.Operation.create(
                "vector.extract_strided_slice",
                results=[piece_type],
                operands=[source],
                attributes={
                    "offsets": array([start]),
                    "sizes": array([TREE_CHUNK]),
                    "strides": array([1]),
                },
            ).result
            for start in range(0, t.shape[0], TREE_CHUNK)
        ]
        while len(pieces) > 1:
            pairs = [
                ir.Operation.create(
                    _ELEMENTWISE[kind], results=[piece_type], operands=[a, b]
                ).result
                for a, b in zip(pieces[0::2], pieces[1::2])
            ]
            pieces = pairs + pieces[len(pairs) * 2 :]
        reduced = ir.Operation.create(
            "vector.reduction",
            results=[op.results[0].type],
            operands=[pieces[0], *list(op.operands)[1:]],
            attributes={name: op.attributes[name] for name in op.attributes},
        ).result
    op.results[0].replace_all_uses_with(reduced)
    op.erase()


def _reductions(module: ir.Operation, functions: list[str]) -> list[ir.Operation]:
    """The vector.reduction ops of `functions`."""
    found = []

    def visit(op):
        if op.name == "vector.reduction":
            found.append(op.operation if isinstance(op, ir.OpView) else op)
        return ir.WalkResult.ADVANCE

    for f in module.regions[0].blocks[0].operations:
        if f.operation.name != "func.func":
            continue
        if ir.StringAttr(f.attributes["sym_name"]).value in functions:
            f.operation.walk(visit)
    return found


def _reassociate(reductions: list[ir.Operation]) -> None:
    """Lets LLVM reassociate the float sums and products the lowering made (not those that
    were there before, marked KEEP_ORDER): without `reassoc` llvm.vector.reduce.fadd is an
    ordered chain, one scalar add per lane in straight-line code, as slow as the scalar
    loop and as large as the vector. With it a reduction is a tree of native vector adds;
    the order of a float sum changes, as it does in torch's own vectorised kernels."""
    reassoc = ir.Attribute.parse("#arith.fastmath<reassoc>")
    for op in reductions:
        if KEEP_ORDER in op.attributes:
            del op.attributes[KEEP_ORDER]
            continue
        kind = str(op.attributes["kind"])
        if ("<add>" in kind or "<mul>" in kind) and isinstance(
            op.results[0].type, (ir.F32Type, ir.F64Type)
        ):
            op.attributes["fastmath"] = reassoc
