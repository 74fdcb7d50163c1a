"""Producers inlined into the generics that read them, before route 2 tiles them.

torch-mlir writes a norm's variance as `extf` to f64 (a whole f64 copy of the input), the
squared deviations (another), then a reduction over each; log-softmax writes `x - max` and
`exp` of it as tensors the sum then reads. pattern-fuse-elementwise joins chains of
elementwise ops only, each producer with one use, so these stay separate: every one writes
and reads a whole tensor, and a reduction cannot be tiled together with its producer.

Here an all-parallel producer P becomes part of a consumer C's body (upstream's elementwise
fusion, done in Python so that the rules are ours):

* if C is P's only user, or P is cheap (a few arith ops, no math functions) so that
  computing it again costs less than writing and reading it; P stays for its other users.
  A softmax's exp, which the sum and the division both read, stays a tensor: computing
  it twice costs more than the memory.

Only where C runs no more iterations than P has elements (C reads each element of P once
or less: no broadcast of P along a loop of C), P's output is indexed by the identity, and
P's body reads neither its output nor `linalg.index` (C's loops are not P's). A producer
left without users is erased.

A generic read through `tensor.extract` (padding's row pass, read by its column pass at
computed positions) is inlined at each read instead, its loop indices replaced by the
read's position (`inline_gathered`), when its body is cheap and reads nothing but loop
indices and values from outside.
"""

from __future__ import annotations

import math

from mlir import ir

from ..utils.generic_ops import indexing_maps, iterator_types

__all__ = ["fuse_producers"]

CHEAP_OPS = 4  # body ops (besides the yield) of a producer worth computing twice
# Body ops of a fused generic: inlining a producer that several operands read copies its
# body once per operand, which a chain of such producers would multiply without a bound.
MAX_BODY = 64


def _counts(op: ir.Operation) -> tuple[int, int]:
    """(inputs, outputs) of a linalg op."""
    sizes = ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"])
    return sizes[0], sizes[1]


def _elements(t: ir.Type) -> int:
    n = 1
    for d in ir.RankedTensorType(t).shape:
        n *= d
    return n


def loop_sizes(op: ir.Operation, maps: list[ir.AffineMap]) -> list[int] | None:
    """The static size of every loop, read from the operands its maps index by that loop."""
    sizes: list[int | None] = [None] * maps[0].n_dims
    for value, m in zip(op.operands, maps):
        if not isinstance(value.type, ir.RankedTensorType):
            continue
        for extent, expr in zip(value.type.shape, m.results):
            if isinstance(expr, ir.AffineDimExpr):
                sizes[expr.position] = extent
    return None if any(s is None for s in sizes) else sizes


def _iterations(op: ir.Operation, maps: list[ir.AffineMap]) -> int | None:
    sizes = loop_sizes(op, maps)
    return None if sizes is None else math.prod(sizes)


def _body(op: ir.Operation) -> ir.Block:
    return op.regions[0].blocks[0]


def _elementwise_producer(value: ir.Value) -> ir.Operation | None:
    """The generic that defines `value` if it has one result, only parallel loops and writes
    its output through the identity map (each result element from its own iteration)."""
    owner = value.owner
    if not isinstance(owner, (ir.Operation, ir.OpView)):
        return None
    op = owner.operation
    if op.name != "linalg.generic" or len(op.results) != 1:
        return None
    if any(it != "parallel" for it in iterator_types(op)):
        return None
    maps = indexing_maps(op)
    if maps[-1] != ir.AffineMap.get_identity(maps[-1].n_dims):
        return None
    return op


def _producer(value: ir.Value) -> ir.Operation | None:
    """The all-parallel, one-result generic that defines `value` and can be inlined."""
    op = _elementwise_producer(value)
    if op is None:
        return None
    body = _body(op)
    inputs, _ = _counts(op)
    if any(not _unused(arg) for arg in list(body.arguments)[inputs:]):
        return None
    for inner in body.operations:
        if inner.operation.name == "linalg.index" or len(inner.operation.regions):
            return None
    return op


def _unused(value: ir.Value) -> bool:
    return next(iter(value.uses), None) is None


def _users(value: ir.Value) -> int:
    return sum(1 for _ in value.uses)


def _cheap(op: ir.Operation) -> bool:
    ops = [o.operation for o in _body(op).operations if o.operation.name != "linalg.yield"]
    return len(ops) <= CHEAP_OPS and not any(o.name.startswith("math.") for o in ops)


def _worth(producer: ir.Operation, value: ir.Value) -> bool:
    return _users(value) == 1 or _cheap(producer)


def _clone_into(ops, block: ir.Block, mapping: dict) -> None:
    """Clones `ops` at the end of `block`, operands renamed through `mapping` (extended)."""
    for op in ops:
        clone = op.clone(ip=ir.InsertionPoint(block))
        for i, operand in enumerate(clone.operands):
            if operand in mapping:
                clone.operands[i] = mapping[operand]
        for old, new in zip(op.results, clone.results):
            mapping[old] = new


def _fuse(consumer: ir.Operation, k: int, producer: ir.Operation) -> ir.Operation:
    """A copy of `consumer` whose input `k` is computed by `producer`'s body instead."""
    c_maps, p_maps = indexing_maps(consumer), indexing_maps(producer)
    c_in, _ = _counts(consumer)
    p_in, _ = _counts(producer)
    c_operands, p_operands = list(consumer.operands), list(producer.operands)
    reads = c_maps[k]
    composed = [
        ir.AffineMap.get(reads.n_dims, 0, [e.compose(reads) for e in m.results])
        for m in p_maps[:p_in]
    ]
    inputs = c_operands[:k] + p_operands[:p_in] + c_operands[k + 1 : c_in]
    outputs = c_operands[c_in:]
    maps = c_maps[:k] + composed + c_maps[k + 1 :]
    with consumer.location, ir.InsertionPoint(consumer):
        fused = ir.Operation.create(
            "linalg.generic",
            results=[r.type for r in consumer.results],
            operands=inputs + outputs,
            attributes={
                "indexing_maps": ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
                "iterator_types": consumer.attributes["iterator_types"],
                "operandSegmentSizes": ir.DenseI32ArrayAttr.get([len(inputs), len(outputs)]),
            },
            regions=1,
        )
    element = [
        ir.ShapedType(v.type).element_type if isinstance(v.type, ir.ShapedType) else v.type
        for v in inputs + outputs
    ]
    block = fused.regions[0].blocks.append(*element)
    args = list(block.arguments)
    p_args, c_args = list(_body(producer).arguments), list(_body(consumer).arguments)
    mapping = {p_args[i]: args[k + i] for i in range(p_in)}
    p_ops = [o.operation for o in _body(producer).operations]
    _clone_into(p_ops[:-1], block, mapping)
    produced = mapping.get(p_ops[-1].operands[0], p_ops[-1].operands[0])
    shift = p_in - 1
    mapping = {}
    for i, arg in enumerate(c_args):
        if i < k:
            mapping[arg] = args[i]
        elif i == k:
            mapping[arg] = produced
        else:
            mapping[arg] = args[i + shift]
    _clone_into([o.operation for o in _body(consumer).operations], block, mapping)
    return fused


def _dims_of(expr: ir.AffineExpr) -> set[int]:
    expr = expr.maybe_downcast() if hasattr(expr, "maybe_downcast") else expr
    if isinstance(expr, ir.AffineDimExpr):
        return {expr.position}
    if isinstance(expr, ir.AffineBinaryExpr):
        return _dims_of(expr.lhs) | _dims_of(expr.rhs)
    return set()


def _loops_stay_defined(c_maps, k: int, p_input_maps) -> bool:
    """Whether every loop of the consumer is still indexed by some operand once input k is
    replaced by the producer's inputs: linalg infers loop sizes from the operands, and a
    producer reading only index tables (nearest resampling's rows and columns) would leave a
    reduced dimension indexed by nothing."""
    reads = c_maps[k]
    used = set()
    for m in [*c_maps[:k], *c_maps[k + 1 :]]:
        used |= {e.position for e in m.results if isinstance(e, ir.AffineDimExpr)}
    for m in p_input_maps:
        for e in m.results:
            used |= _dims_of(e.compose(reads))
    return used == set(range(reads.n_dims))


def _try_fuse(consumer: ir.Operation) -> tuple[ir.Operation, ir.Operation] | None:
    """Inlines one producer into `consumer`, which is erased; returns (the fused op, the
    producer), or None if no producer fits."""
    if consumer.name != "linalg.generic":
        return None
    c_in, _ = _counts(consumer)
    c_maps = indexing_maps(consumer)
    iterations = _iterations(consumer, c_maps)
    if iterations is None:
        return None
    size = len(_body(consumer).operations)
    for k, value in enumerate(list(consumer.operands)[:c_in]):
        producer = _producer(value)
        if producer is None or iterations > _elements(value.type) or not _worth(producer, value):
            continue
        if size + len(_body(producer).operations) > MAX_BODY:
            continue
        if not _loops_stay_defined(c_maps, k, indexing_maps(producer)[: _counts(producer)[0]]):
            continue
        fused = _fuse(consumer, k, producer)
        for old, new in zip(consumer.results, fused.results):
            old.replace_all_uses_with(new)
        consumer.erase()
        return fused, producer
    return None


def fuse_producers(ops: list[ir.Operation]) -> list[ir.Operation]:
    """Fuses producers into the generics among `ops` until none fits; returns the ops left
    (a fused op in place of its consumer, erased producers dropped)."""
    alive = list(ops)
    changed = True
    while changed:
        changed = False
        for i, op in enumerate(alive):
            done = _try_fuse(op)
            if done is None:
                continue
            fused, producer = done
            alive[i] = fused
            if _unused(producer.results[0]):
                alive = [o for o in alive if o != producer]
                producer.erase()
            changed = True
            break
    return alive


def _gathered_producer(value: ir.Value) -> ir.Operation | None:
    """A generic read through `tensor.extract` that can be computed at the read instead: all
    parallel, its output indexed by the identity, and a body that reads only `linalg.index`
    and values from outside (padding's first pass, once passes/dense/positions.py rewrote it) and
    is cheap."""
    op = _elementwise_producer(value)
    if op is None:
        return None
    body = _body(op)
    if any(not _unused(arg) for arg in body.arguments):
        return None
    ops = [o.operation for o in body.operations]
    if any(len(o.regions) or o.name.startswith("math.") for o in ops) or len(ops) > 2 * CHEAP_OPS:
        return None
    return op


def inline_gathered(ops: list[ir.Operation]) -> list[ir.Operation]:
    """Computes each element a generic among `ops` reads with `tensor.extract` from a cheap
    producer (`_gathered_producer`) at the read: the producer's body with its loop indices
    replaced by the read's position. Padding's two passes (rows, then columns, through an
    intermediate tensor) become one. Returns the ops left (producers left unused erased)."""
    alive = list(ops)
    for op in list(alive):
        if op.name != "linalg.generic":
            continue
        body = _body(op)
        for extract in [
            o.operation for o in body.operations if o.operation.name == "tensor.extract"
        ]:
            producer = _gathered_producer(extract.operands[0])
            if producer is None:
                continue
            p_ops = [o.operation for o in _body(producer).operations]
            positions = list(extract.operands)[1:]
            mapping = {}
            for inner in p_ops[:-1]:
                if inner.name == "linalg.index":
                    mapping[inner.results[0]] = positions[
                        ir.IntegerAttr(inner.attributes["dim"]).value
                    ]
                    continue
                clone = inner.clone(ip=ir.InsertionPoint(extract))
                for i, operand in enumerate(clone.operands):
                    if operand in mapping:
                        clone.operands[i] = mapping[operand]
                for a, b in zip(inner.results, clone.results):
                    mapping[a] = b
            yielded = p_ops[-1].operands[0]
            extract.results[0].replace_all_uses_with(mapping.get(yielded, yielded))
            extract.erase()
            if _unused(producer.results[0]):
                alive = [o for o in alive if o != producer]
                producer.erase()
    return alive
