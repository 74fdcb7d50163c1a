"""Adjacent loops of a generic merged into one, before route 2 tiles it.

Route 2 vectorises along the innermost loop and tiles every other loop by 1. Where the
operands read the image's rows and columns (or a batch and its tokens) as one contiguous
run, those loops are one loop, whose vector is longer and whose tiles are whole native
vectors:

* a reduction over a non-innermost dimension (a mean over the channels of NCHW) keeps its
  accumulator in vector registers over the reduction loop (passes/dense/transform.py,
  `_accumulating`); its vector along a 56-wide row is a length LLVM carries through a loop
  lane by lane, along the 3136 pixels it is 49 vectors of 64;
* an elementwise op that broadcasts a per-channel value (PReLU's slope, a bias) is
  otherwise one unaligned vector of 56 per row; merged, it runs over the channel's pixels;
* a reduction along the last dimension (a log-softmax's sum over a row of 192) drops the
  unit dimension its result keeps (1x197x1), which upstream's tiling into partial
  reductions requires.

Two loops i and i + 1 merge when both are parallel and every operand
either reads both, as consecutive dimensions in that order, or neither; an operand's unit
dimension read at a constant joins its neighbour. The op is rebuilt
on collapsed operands (`tensor.collapse_shape`) and its result expanded back. Ops whose
body reads `linalg.index` or `tensor.extract` (positions of the loops) or holds regions
are left alone.
"""

from __future__ import annotations

from mlir import ir

from ..utils.generic_ops import indexing_maps, iterator_types

__all__ = ["collapse_loops"]


def _dims(m: ir.AffineMap) -> list[int | None]:
    """The loop each result of `m` reads, None for a constant."""
    return [e.position if isinstance(e, ir.AffineDimExpr) else None for e in m.results]


def _mergeable(maps: list[ir.AffineMap], iterators: list[str], i: int) -> bool:
    """Whether loops i and i + 1 can be one loop: both parallel (merging gives the vector a
    longer run; two reduction loops merged left an output map with constants for both,
    which the vectorizer refused after tiling), read together or not at all."""
    if iterators[i] != "parallel" or iterators[i + 1] != "parallel":
        return False
    for m in maps:
        dims = _dims(m)
        if i not in dims and i + 1 not in dims:
            continue
        if dims.count(i) != 1 or dims.count(i + 1) != 1:
            return False
        if dims.index(i + 1) != dims.index(i) + 1:
            return False
    return True


def _loop_groups(maps: list[ir.AffineMap], iterators: list[str]) -> list[list[int]]:
    groups = [[0]]
    for i in range(len(iterators) - 1):
        if _mergeable(maps, iterators, i):
            groups[-1].append(i + 1)
        else:
            groups.append([i + 1])
    return groups


def _applies(op: ir.Operation) -> bool:
    """A generic with maps of loops and constants, one tensor result and a body that reads
    no position."""
    if op.name != "linalg.generic" or len(op.results) != 1:
        return False
    iterators = iterator_types(op)
    if not iterators:
        return False
    if not all(
        isinstance(e, (ir.AffineDimExpr, ir.AffineConstantExpr))
        for m in indexing_maps(op)
        for e in m.results
    ):
        return False
    body = [o.operation for o in op.regions[0].blocks[0].operations]
    if any(len(o.regions) for o in body):
        return False
    return not {o.name for o in body} & {"linalg.index", "tensor.extract"}


def _reassociation(
    dims: list[int | None], group_of: dict[int, int], shape: list[int]
) -> list[list[int]]:
    """Which operand dimensions become one: consecutive results of the same loop group, and
    each unit dimension read at a constant joined to its neighbour (a per-channel weight
    1x64x1x1 read at (d0, d1, 0, 0) becomes a vector of 64 read at the merged loop; left as
    64x1x1 at (d, 0, 0), the vectorizer refuses the op)."""
    runs: list[list[int]] = []
    for position, loop in enumerate(dims):
        if (
            runs
            and loop is not None
            and dims[runs[-1][-1]] is not None
            and group_of[dims[runs[-1][-1]]] == group_of[loop]
        ):
            runs[-1].append(position)
        else:
            runs.append([position])
    merged: list[list[int]] = []
    for run in runs:
        # A unit constant joins the run before it; a leading one, the run after it.
        if merged and (_unit_constant(run, dims, shape) or _unit_constant(merged[-1], dims, shape)):
            merged[-1].extend(run)
        else:
            merged.append(run)
    return merged


def _unit_constant(run: list[int], dims: list[int | None], shape: list[int]) -> bool:
    return all(dims[p] is None and shape[p] == 1 for p in run)


def _reshape(name: str, value: ir.Value, result_type: ir.Type, runs: list[list[int]], shape=None):
    attributes = {
        "reassociation": ir.ArrayAttr.get(
            [
                ir.ArrayAttr.get(
                    [ir.IntegerAttr.get(ir.IntegerType.get_signless(64), d) for d in r]
                )
                for r in runs
            ]
        )
    }
    if shape is not None:
        attributes["static_output_shape"] = ir.DenseI64ArrayAttr.get(shape)
    return ir.Operation.create(
        name, results=[result_type], operands=[value], attributes=attributes
    ).result


def _collapsed(value: ir.Value, runs: list[list[int]]) -> ir.Value:
    if all(len(r) == 1 for r in runs):
        return value
    t = ir.RankedTensorType(value.type)
    shape = list(t.shape)
    sizes = []
    for r in runs:
        n = 1
        for d in r:
            n *= shape[d]
        sizes.append(n)
    collapsed_type = ir.RankedTensorType.get(sizes, t.element_type)
    return _reshape("tensor.collapse_shape", value, collapsed_type, runs)


def _collapsed_map(m: ir.AffineMap, runs: list[list[int]], group_of: dict[int, int], n: int):
    dims = _dims(m)
    results = []
    for r in runs:
        loops = [dims[p] for p in r if dims[p] is not None]
        results.append(ir.AffineDimExpr.get(group_of[loops[0]]) if loops else m.results[r[0]])
    return ir.AffineMap.get(n, 0, results)


def collapse_loops(op: ir.Operation) -> ir.Operation:
    """`op` with its mergeable adjacent loops merged (see the module's text), or `op`."""
    if not _applies(op):
        return op
    maps, iterators = indexing_maps(op), iterator_types(op)
    groups = _loop_groups(maps, iterators)
    if len(groups) == len(iterators):
        return op
    group_of = {loop: g for g, members in enumerate(groups) for loop in members}
    operands, new_maps, output_runs = [], [], None
    with op.context, op.location, ir.InsertionPoint(op):
        for value, m in zip(op.operands, maps):
            if not isinstance(value.type, ir.RankedTensorType):
                operands.append(value)
                new_maps.append(ir.AffineMap.get(len(groups), 0, []))
                continue
            runs = _reassociation(_dims(m), group_of, list(value.type.shape))
            operands.append(_collapsed(value, runs))
            new_maps.append(_collapsed_map(m, runs, group_of, len(groups)))
            output_runs = runs
        collapsed = _clone_with(op, operands, new_maps, [iterators[g[0]] for g in groups])
        result_type = op.results[0].type
        result = collapsed.results[0]
        if any(len(r) > 1 for r in output_runs):
            result = _reshape(
                "tensor.expand_shape",
                result,
                result_type,
                output_runs,
                list(ir.RankedTensorType(result_type).shape),
            )
    op.results[0].replace_all_uses_with(result)
    op.erase()
    return collapsed


def _clone_with(
    op: ir.Operation, operands: list[ir.Value], maps: list[ir.AffineMap], iterators: list[str]
) -> ir.Operation:
    """A generic with `op`'s body on new operands, maps and iterators."""
    attr = {
        "parallel": ir.Attribute.parse("#linalg.iterator_type<parallel>"),
        "reduction": ir.Attribute.parse("#linalg.iterator_type<reduction>"),
    }
    new = ir.Operation.create(
        "linalg.generic",
        results=[operands[-1].type],
        operands=operands,
        attributes={
            "indexing_maps": ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
            "iterator_types": ir.ArrayAttr.get([attr[it] for it in iterators]),
            "operandSegmentSizes": op.attributes["operandSegmentSizes"],
        },
        regions=1,
    )
    old = op.regions[0].blocks[0]
    block = new.regions[0].blocks.append(*[a.type for a in old.arguments])
    mapping = dict(zip(old.arguments, block.arguments))
    for inner in old.operations:
        clone = inner.operation.clone(ip=ir.InsertionPoint(block))
        for i, operand in enumerate(clone.operands):
            if operand in mapping:
                clone.operands[i] = mapping[operand]
        for a, b in zip(inner.operation.results, clone.results):
            mapping[a] = b
    return new
