"""pattern-widen-bool-tensors: tensors of i1 are stored as tensors of i8.

A `tensor<...xi1>` bufferizes to a `memref<...xi1>`, whose loads and stores the LLVM
lowering of memref rejects (element types narrower than a byte have no defined memory
layout there; it asserts). torch-mlir writes comparisons as generics that produce i1
tensors (the `x > 0` of PReLU, Softplus and Mish, the masks of attention), so this pass
runs before bufferization and gives every such tensor one byte per element:

* ops that only move elements (empty, reshapes, slices, casts, scf results) take the
  i8 type as they are;
* ops that compute on elements convert at their edge: linalg bodies truncate the i8
  they read back to i1 and extend the i1 they yield, scalars and vectors read from or
  written into a widened tensor are truncated or extended the same way;
* constants are rewritten as i8 constants.

Values are 0 or 1 in every byte, so `trunci` and `extui` are exact. A bool tensor at any
other op (a function boundary, a call) is an error naming the op, before anything is
changed: widening it would need a conversion that stores i1 again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from mlir import ir
from mlir.dialects import arith

from .registry import ModulePass, PassError, register_pass
from .utils.walk import walk_unlowered

# Ops whose bool tensor results are the same elements as their bool tensor operands.
_MOVERS = {
    "tensor.empty",
    "tensor.expand_shape",
    "tensor.collapse_shape",
    "tensor.extract_slice",
    "tensor.insert_slice",
    "tensor.parallel_insert_slice",
    "tensor.cast",
    "tensor.concat",
    "tensor.reshape",
    "tensor.dim",
    "bufferization.alloc_tensor",
    "scf.yield",
    "scf.if",
}


def _is_i1(t: ir.Type) -> bool:
    return isinstance(t, ir.IntegerType) and t.width == 1


def _is_bool_tensor(t: ir.Type) -> bool:
    return isinstance(t, ir.RankedTensorType) and _is_i1(t.element_type)


def _i8() -> ir.IntegerType:
    return ir.IntegerType.get_signless(8)


def _widened(t: ir.Type) -> ir.Type:
    """`t` with i8 elements: a tensor, a vector or a scalar."""
    if isinstance(t, ir.RankedTensorType):
        return ir.RankedTensorType.get(t.shape, _i8(), t.encoding)
    if isinstance(t, ir.VectorType):
        return ir.VectorType.get(t.shape, _i8(), scalable=t.scalable_dims)
    return _i8()


def _narrowed(t: ir.Type) -> ir.Type:
    if isinstance(t, ir.VectorType):
        return ir.VectorType.get(t.shape, ir.IntegerType.get_signless(1), scalable=t.scalable_dims)
    return ir.IntegerType.get_signless(1)


def _extend_operand(op: ir.Operation, index: int) -> None:
    """Operand `index` of `op`, an i1 scalar or vector, replaced by its i8 extension."""
    value = op.operands[index]
    with ir.InsertionPoint(op), op.location:
        op.operands[index] = arith.extui(_widened(value.type), value)


def _truncate_result(value: ir.Value, after: ir.InsertionPoint) -> None:
    """`value`, just retyped from i1 to i8, stays i1 for its users through a trunci."""
    if not list(value.uses):
        return
    with after:
        narrow = arith.trunci(_narrowed(value.type), value)
    value.replace_all_uses_except(narrow, narrow.owner.operation)


def _widen_linalg(op: ir.Operation, bool_operands: list[int]) -> None:
    """A linalg op: block arguments of widened operands are truncated where the body reads
    them, values yielded into widened outputs are extended."""
    block = op.regions[0].blocks[0]
    if op.name == "linalg.fill" and _is_i1(op.operands[0].type):
        _extend_operand(op, 0)
        bool_operands = [0, *bool_operands]
    for index in bool_operands:
        arg = block.arguments[index]
        arg.set_type(_i8())
        _truncate_result(arg, ir.InsertionPoint.at_block_begin(block))
    terminator = block.operations[len(block.operations) - 1]
    first_output = len(op.operands) - len(terminator.operands)
    for j in range(len(terminator.operands)):
        if first_output + j in bool_operands and _is_i1(terminator.operands[j].type):
            _extend_operand(terminator, j)


def _widen_transfer_read(op: ir.Operation) -> None:
    padding = op.opview.padding
    for index, operand in enumerate(op.operands):
        if operand == padding:
            _extend_operand(op, index)
            break
    op.result.set_type(_widened(op.result.type))
    _truncate_result(op.result, ir.InsertionPoint.after(op))


def _widen_extract(op: ir.Operation) -> None:
    op.result.set_type(_i8())
    _truncate_result(op.result, ir.InsertionPoint.after(op))


def _extend_stored(op: ir.Operation) -> None:
    """tensor.insert, tensor.splat, vector.transfer_write: the value stored is operand 0
    (a transfer's mask, also i1, is left alone)."""
    _extend_operand(op, 0)


def _extend_elements(op: ir.Operation) -> None:
    for index in range(len(op.operands)):
        _extend_operand(op, index)


def _widen_pad(op: ir.Operation) -> None:
    block = op.regions[0].blocks[0]
    _extend_operand(block.operations[len(block.operations) - 1], 0)


def _widen_for(op: ir.Operation) -> None:
    # Block arguments: the induction variable, then one per iter_arg (= per result).
    block = op.regions[0].blocks[0]
    for result in op.results:
        if _is_bool_tensor(result.type):
            block.arguments[result.result_number + 1].set_type(_widened(result.type))


def _widen_constant(op: ir.Operation) -> None:
    attr = op.attributes["value"]
    if not isinstance(attr, ir.DenseIntElementsAttr):
        raise PassError(op, f"holds {attr}, which pattern-widen-bool-tensors cannot widen")
    new_type = _widened(op.result.type)
    if attr.is_splat:
        new_attr = ir.DenseElementsAttr.get_splat(new_type, ir.IntegerAttr.get(_i8(), attr[0]))
    else:
        values = [ir.IntegerAttr.get(_i8(), attr[i]) for i in range(len(attr))]
        new_attr = ir.DenseElementsAttr.get(values, type=new_type)
    op.attributes["value"] = new_attr


_RULES: dict[str, Callable[[ir.Operation], None]] = {
    "arith.constant": _widen_constant,
    "tensor.extract": _widen_extract,
    "tensor.insert": _extend_stored,
    "tensor.splat": _extend_stored,
    "tensor.from_elements": _extend_elements,
    "tensor.pad": _widen_pad,
    "vector.transfer_read": _widen_transfer_read,
    "vector.transfer_write": _extend_stored,
    "scf.for": _widen_for,
}


def _touches_bool_tensor(op: ir.Operation) -> tuple[list[int], bool]:
    """(indices of its bool tensor operands, whether its results or region arguments
    include a bool tensor)."""
    operands = [i for i, v in enumerate(op.operands) if _is_bool_tensor(v.type)]
    defines = any(_is_bool_tensor(r.type) for r in op.results) or any(
        _is_bool_tensor(arg.type)
        for region in op.regions
        for block in region.blocks
        for arg in block.arguments
    )
    return operands, defines


@register_pass
@dataclass(frozen=True)
class WidenBoolTensors(ModulePass):
    """Store tensors of i1 as tensors of i8, before bufferization."""

    name: ClassVar[str] = "pattern-widen-bool-tensors"

    def apply(self, module: ir.Operation) -> None:
        found: list[tuple[ir.Operation, list[int]]] = []

        def visit(op):
            op = op.operation if isinstance(op, ir.OpView) else op
            operands, defines = _touches_bool_tensor(op)
            if operands or defines:
                found.append((op, operands))
            return ir.WalkResult.ADVANCE

        walk_unlowered(module, visit)
        # Every op is checked before any is changed, so an unsupported one leaves the IR intact.
        for op, _ in found:
            known = op.name in _MOVERS or op.name in _RULES or op.name.startswith("linalg.")
            if not known or (op.name.startswith("linalg.") and not op.regions):
                raise PassError(op, "reads or makes an i1 tensor that no rule widens")
        # Each rule reads only the bool operand indices recorded above, not operand types, so
        # the order in which producers and users are retyped does not matter.
        for op, bool_operands in found:
            with op.location:
                if op.name.startswith("linalg."):
                    _widen_linalg(op, bool_operands)
                elif op.name in _RULES:
                    _RULES[op.name](op)
                for result in op.results:
                    if _is_bool_tensor(result.type):
                        result.set_type(_widened(result.type))
