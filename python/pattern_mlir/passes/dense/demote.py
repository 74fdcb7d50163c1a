"""The f64 arithmetic torch-mlir writes inside f32 models, done in f32 (route 2).

torch-mlir computes the variance of LayerNorm and GroupNorm in f64: an f64 copy of the
input, the f64 sum of it for the mean, the f64 squared deviations from that mean and their
f64 sum, truncated to f32 where the variance meets the f32 output. torch itself computes
these moments in f32 on CPU. In f64 every pass moves twice the bytes and does half as much
per vector; and the f64 sum for the mean is the f32 sum the normalisation computes anyway,
once more. Here such a function is computed in f32 throughout:

* every f64 value becomes f32: `arith.extf` from f32 and `arith.truncf` to f32 disappear,
  f64 constants become f32 constants, tensors and block arguments change type;
* a generic left copying its input unchanged (the f64 copy) is replaced by its input;
* generics that compute the same thing from the same operands (the two sums of the input)
  become one (`merge_duplicates`).

The variance stays the mean of squared deviations from the mean (two passes), which f32
computes to about 1e-6 relative error even for inputs whose mean is large against their
spread; the vectorised sums add in many partial sums, as torch's do.

Only a function whose f64 values are all made inside it from f32 is demoted: its
arguments and results are not f64, and f64 appears only in `linalg.generic`,
`linalg.fill`, `tensor.empty` and scalar constants, and inside generic bodies only in the
ops of `_F64_BODY_OPS`. Anything else (an f64 table, an op this list does not know)
leaves the function as it is.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith

from ..utils.constants import defining_op
from ..utils.generic_ops import indexing_maps

__all__ = ["demote_f64"]

_F64_OPS = {"linalg.generic", "linalg.fill", "tensor.empty", "arith.constant"}
_F64_BODY_OPS = {
    "arith.extf",
    "arith.truncf",
    "arith.addf",
    "arith.subf",
    "arith.mulf",
    "arith.divf",
    "arith.negf",
    "arith.maximumf",
    "arith.minimumf",
    "arith.cmpf",
    "arith.select",
    "arith.constant",
    "math.sqrt",
    "math.rsqrt",
    "linalg.yield",
}


def _is_f64(t: ir.Type) -> bool:
    if isinstance(t, ir.ShapedType):
        t = t.element_type
    return isinstance(t, ir.F64Type)


def _as_f32(t: ir.Type) -> ir.Type:
    if isinstance(t, ir.RankedTensorType):
        return ir.RankedTensorType.get(list(t.shape), ir.F32Type.get())
    return ir.F32Type.get() if isinstance(t, ir.F64Type) else t


def _touches_f64(op: ir.Operation) -> bool:
    return any(_is_f64(v.type) for v in [*op.operands, *op.results])


def _function_of(op: ir.Operation) -> ir.Operation | None:
    parent = op.parent
    while parent is not None and parent.name != "func.func":
        parent = parent.parent
    return parent


def _demotable(function: ir.Operation) -> bool:
    """Whether every f64 value of `function` is made inside it from f32 (see the module)."""
    signature = ir.FunctionType(ir.TypeAttr(function.attributes["function_type"]).value)
    if any(_is_f64(t) for t in [*signature.inputs, *signature.results]):
        return False
    ok = True

    def visit(op):
        nonlocal ok
        op = op.operation
        if not _touches_f64(op) and not any(
            _is_f64(a.type) for r in op.regions for b in r.blocks for a in b.arguments
        ):
            return ir.WalkResult.ADVANCE
        in_body = op.parent is not None and op.parent.name in ("linalg.generic", "linalg.fill")
        allowed = _F64_BODY_OPS if in_body else _F64_OPS
        if op.name not in allowed:
            ok = False
            return ir.WalkResult.INTERRUPT
        if op.name == "arith.constant" and not isinstance(op.results[0].type, ir.F64Type):
            ok = False  # an f64 tensor constant
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    function.walk(visit)
    return ok


def _f64_ops(function: ir.Operation) -> list[ir.Operation]:
    found = []

    def visit(op):
        op = op.operation
        if op.name != "func.func" and (
            _touches_f64(op)
            or any(_is_f64(a.type) for r in op.regions for b in r.blocks for a in b.arguments)
        ):
            found.append(op)
        return ir.WalkResult.ADVANCE

    function.walk(visit)
    return found


def _retype(ops: list[ir.Operation]) -> None:
    """Every f64 value of `ops` as f32; conversions between the two dropped."""
    for op in ops:
        for region in op.regions:
            for block in region.blocks:
                for argument in block.arguments:
                    argument.set_type(_as_f32(argument.type))
    for op in ops:
        if op.name == "arith.constant":
            with op.location, ir.InsertionPoint(op):
                value = ir.FloatAttr(op.attributes["value"]).value
                replacement = arith.constant(ir.F32Type.get(), value)
            op.results[0].replace_all_uses_with(replacement)
            op.erase()
        elif op.name in ("arith.extf", "arith.truncf"):
            op.results[0].replace_all_uses_with(op.operands[0])
            op.erase()
        else:
            for result in op.results:
                result.set_type(_as_f32(result.type))


def _copy_source(op: ir.Operation) -> ir.Value | None:
    """The input of a generic that yields its only input unchanged, element for element."""
    if op.name != "linalg.generic" or len(op.operands) != 2 or len(op.results) != 1:
        return None
    maps = indexing_maps(op)
    identity = ir.AffineMap.get_identity(maps[0].n_dims)
    if maps != [identity, identity] or op.operands[0].type != op.results[0].type:
        return None
    body = op.regions[0].blocks[0]
    ops = list(body.operations)
    if len(ops) != 1 or ops[0].operands[0] != body.arguments[0]:
        return None
    return op.operands[0]


def _same_value(a: ir.Value, b: ir.Value, depth: int = 0) -> bool:
    """Whether `a` and `b` are the same value: the same SSA value, equal constants, or
    equivalent pure ops (empty tensors, fills, generics) of the same values."""
    if a == b:
        return True
    if depth > 4 or a.type != b.type:
        return False
    x, y = defining_op(a), defining_op(b)
    if x is None or y is None or x.name != y.name or len(x.results) != 1:
        return False
    if x.name == "arith.constant":
        return x.attributes["value"] == y.attributes["value"]
    if x.name == "tensor.empty":
        return not len(x.operands) and not len(y.operands)
    if x.name in ("linalg.fill", "linalg.generic"):
        return _same_op(x, y, depth + 1)
    return False


def _same_attributes(x: ir.Operation, y: ir.Operation) -> bool:
    names = set(x.attributes)  # iterating an op's attributes gives their names
    return names == set(y.attributes) and all(x.attributes[n] == y.attributes[n] for n in names)


def _same_op(x: ir.Operation, y: ir.Operation, depth: int) -> bool:
    """Whether two linalg ops compute the same result: same attributes, the same operands
    and bodies that do the same to them."""
    if len(x.operands) != len(y.operands) or not _same_attributes(x, y):
        return False
    if not all(_same_value(a, b, depth) for a, b in zip(x.operands, y.operands)):
        return False
    return _same_body(x.regions[0].blocks[0], y.regions[0].blocks[0], depth)


def _same_body(a: ir.Block, b: ir.Block, depth: int) -> bool:
    ops_a, ops_b = list(a.operations), list(b.operations)
    if len(ops_a) != len(ops_b) or len(a.arguments) != len(b.arguments):
        return False
    mapping = dict(zip(a.arguments, b.arguments))
    for p, q in zip(ops_a, ops_b):
        p, q = p.operation, q.operation
        if p.name != q.name or len(p.operands) != len(q.operands) or len(p.regions):
            return False
        if not _same_attributes(p, q) or [r.type for r in p.results] != [r.type for r in q.results]:
            return False
        for u, v in zip(p.operands, q.operands):
            if u in mapping:
                if mapping[u] != v:
                    return False
            elif not _same_value(u, v, depth):
                return False
        mapping.update(zip(p.results, q.results))
    return True


def merge_duplicates(ops: list[ir.Operation]) -> list[ir.Operation]:
    """Replaces each generic among `ops` that an earlier one computes already (same
    operands, same body) by that one; returns the ops left."""
    alive: list[ir.Operation] = []
    for op in ops:
        twin = next(
            (
                kept
                for kept in alive
                if kept.name == op.name == "linalg.generic"
                and kept.block == op.block
                and _same_op(kept, op, 0)
            ),
            None,
        )
        if twin is None:
            alive.append(op)
            continue
        op.results[0].replace_all_uses_with(twin.results[0])
        op.erase()
    return alive


def demote_f64(ops: list[ir.Operation]) -> list[ir.Operation]:
    """Demotes the functions of `ops` that qualify (see the module) to f32; returns the
    ops left (copies and duplicates removed)."""
    functions = []
    for op in ops:
        function = _function_of(op)
        if function is not None and function not in functions and _touches_f64(op):
            functions.append(function)
    demoted = [f for f in functions if _demotable(f)]
    if not demoted:
        return ops
    for function in demoted:
        with function.context:
            _retype(_f64_ops(function))
    alive = []
    for op in ops:
        source = _copy_source(op) if _function_of(op) in demoted else None
        if source is None:
            alive.append(op)
            continue
        op.results[0].replace_all_uses_with(source)
        op.erase()
    return _drop_unused(merge_duplicates(alive))


def _drop_unused(ops: list[ir.Operation]) -> list[ir.Operation]:
    """Erases the ops whose results nothing reads any more (the fill of a merged
    duplicate's accumulator), users before their producers."""
    alive = list(ops)
    for op in reversed(ops):
        if all(next(iter(r.uses), None) is None for r in op.results):
            alive.remove(op)
            op.erase()
    return alive
