"""Small helpers over the upstream MLIR Python bindings used by the GPU path."""

from __future__ import annotations

from mlir import ir


def ops_named(root, *names: str) -> list[ir.Operation]:
    """Every op under ``root`` (an Operation, OpView or Module) whose name is in ``names``."""
    found: list[ir.Operation] = []
    wanted = set(names)

    def visit(op):
        if op.name in wanted:
            found.append(op)
        return ir.WalkResult.ADVANCE

    as_operation(root).walk(visit)
    return found


def as_operation(op) -> ir.Operation:
    if isinstance(op, ir.Module):
        return op.operation
    return op.operation if hasattr(op, "operation") else op


def module_block(module) -> ir.Block:
    """The body block of a builtin.module given as Module, Operation or OpView."""
    return as_operation(module).regions[0].blocks[0]


def defining_op(value: ir.Value) -> ir.Operation | None:
    """The op producing ``value``, or None for a block argument."""
    owner = value.owner
    if isinstance(owner, ir.Block):
        return None
    return as_operation(owner)


def constant_int(value: ir.Value) -> int | None:
    """The integer of an ``arith.constant`` index/integer value, else None."""
    op = defining_op(value)
    if op is None or op.name != "arith.constant":
        return None
    attr = op.attributes["value"]
    if isinstance(attr, ir.IntegerAttr):
        return attr.value
    try:
        return ir.IntegerAttr(attr).value
    except ValueError:
        return None


def symbol_name(op) -> str:
    return ir.StringAttr(as_operation(op).attributes["sym_name"]).value


def is_inside(op: ir.Operation, ancestor: ir.Operation) -> bool:
    """Whether ``op`` is nested (at any depth) in ``ancestor``."""
    current = as_operation(op)
    target = as_operation(ancestor)
    while current is not None:
        if current == target:
            return True
        parent = current.parent
        current = as_operation(parent) if parent is not None else None
    return False


def location_text(op) -> str:
    return str(as_operation(op).location)
