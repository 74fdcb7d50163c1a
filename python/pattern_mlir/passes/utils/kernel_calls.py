"""Splicing a generated kernel into a module and calling it from the tensor program.

`append_functions` moves a kernel's parsed functions into the module; `call_kernel` calls
one on buffers of its inputs and returns its result as a tensor.

A kernel (a pattern conv, a dense GEMM or stencil) is a function on memrefs; the tensor
program calls it on `bufferization.to_buffer` of its inputs, an aligned allocation for its
result, and `bufferization.to_tensor` of that allocation. One-shot bufferization then sees
the input read where its `to_buffer` stands and nowhere else: the call's later reads of the
memref are invisible to it. So each `to_buffer` must stay next to its call. `to_buffer` has
no side effects, and CSE merged two of the same tensor: the second call then read the
buffer through the first call's `to_buffer`, and bufferization, seeing no read after the
first, let an op in between write into it in place (a softmax's -inf fill over a layer
norm's output that a later linear layer still read). Every `to_buffer` made here carries
its own `pattern.read` number, so no two are alike and none is merged.
"""

from __future__ import annotations

import itertools

import numpy as np
from mlir import ir
from mlir.dialects import arith, func

from .constants import defining_op

__all__ = [
    "allocate_reshaped_results",
    "append_functions",
    "call_kernel",
    "constant_buffer",
    "output_buffer",
    "read_buffer",
    "result_tensor",
]

_reads = itertools.count()


def read_buffer(value: ir.Value, memref_type: ir.Type | None = None) -> ir.Value:
    """A read-only buffer of the tensor `value`, read where it is inserted."""
    if memref_type is None:
        t = ir.RankedTensorType(value.type)
        memref_type = ir.MemRefType.get(list(t.shape), t.element_type)
    return ir.Operation.create(
        "bufferization.to_buffer",
        results=[memref_type],
        operands=[value],
        attributes={
            "read_only": ir.UnitAttr.get(),
            "pattern.read": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), next(_reads)),
        },
    ).result


def constant_buffer(array: np.ndarray) -> ir.Value:
    """A read-only buffer of a constant: integer arrays (index tables) as i32, others f32."""
    integer = np.issubdtype(array.dtype, np.integer)
    array = np.ascontiguousarray(array, dtype=np.int32 if integer else np.float32)
    element = ir.IntegerType.get_signless(32) if integer else ir.F32Type.get()
    tensor_type = ir.RankedTensorType.get(list(array.shape), element)
    tensor = arith.constant(tensor_type, ir.DenseElementsAttr.get(array, type=tensor_type))
    return read_buffer(tensor)


def output_buffer(shape, element: ir.Type | None = None) -> ir.Value:
    """A 64-byte aligned allocation for a kernel's result."""
    element = element or ir.F32Type.get()
    return ir.Operation.create(
        "memref.alloc",
        results=[ir.MemRefType.get(list(shape), element)],
        operands=[],
        attributes={
            "alignment": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 64),
            "operandSegmentSizes": ir.DenseI32ArrayAttr.get([0, 0]),
        },
    ).result


def result_tensor(buffer: ir.Value) -> ir.Value:
    """The kernel's result as a tensor: a fresh buffer nothing else aliases."""
    t = ir.MemRefType(buffer.type)
    return ir.Operation.create(
        "bufferization.to_tensor",
        results=[ir.RankedTensorType.get(list(t.shape), t.element_type)],
        operands=[buffer],
        attributes={"restrict": ir.UnitAttr.get(), "writable": ir.UnitAttr.get()},
    ).result


def append_functions(module: ir.Operation, text: str) -> list[ir.Operation]:
    """Parses `text` (a module of kernel functions) and moves its top-level ops to the end
    of `module`; returns them."""
    parsed = ir.Module.parse(text)
    body = module.regions[0].blocks[0]
    moved = []
    for op in list(parsed.body.operations):
        op = op.operation
        op.detach_from_parent()
        ir.InsertionPoint(body).insert(op)
        moved.append(op)
    return moved


def call_kernel(entry: str, inputs: list[ir.Value], shape, element: ir.Type | None = None):
    """Calls the kernel function `entry` on the buffers `inputs` and a fresh output buffer
    of `shape` and `element` (f32 by default); returns the output as a tensor."""
    out = output_buffer(shape, element)
    func.CallOp([], ir.FlatSymbolRefAttr.get(entry), [*inputs, out])
    return result_tensor(out)


def allocate_reshaped_results(module: ir.Operation) -> int:
    """Allocates each kernel result that is only reshaped (a batched matmul's 3x197x197
    product expanded back to 1x3x197x197) in the reshaped shape, the kernel writing
    through a collapsed view of it; returns how many.

    Bufferization then sees the allocation itself where the reshape was, so a result
    returned from the function is written into the caller's buffer
    (buffer-results-to-out-params hoists only an allocation that is returned as it is),
    not into a buffer of its own copied there."""
    moved = 0
    for f in module.regions[0].blocks[0].operations:
        if f.operation.name != "func.func" or not f.regions[0].blocks:
            continue
        # Collected first: a rewrite erases the reshape after its to_tensor, and an erased
        # op must not be touched again.
        results = [
            op.operation
            for op in f.regions[0].blocks[0].operations
            if op.operation.name == "bufferization.to_tensor"
        ]
        moved += sum(_reshape_at_allocation(op) for op in results)
    return moved


def _reshape_at_allocation(to_tensor: ir.Operation) -> bool:
    alloc = defining_op(to_tensor.operands[0], "memref.alloc")
    users = [use.owner for use in to_tensor.results[0].uses]
    if (
        alloc is None
        or len(alloc.operands)
        or len(users) != 1
        or users[0].name != "tensor.expand_shape"
    ):
        return False
    expand = users[0]
    expanded = ir.RankedTensorType(expand.results[0].type)
    old_type = ir.MemRefType(alloc.results[0].type)
    identity = ir.AffineMap.get_identity(old_type.rank)
    if not expanded.has_static_shape or ir.AffineMapAttr(old_type.layout).value != identity:
        return False
    with alloc.location, ir.InsertionPoint(alloc):
        whole = output_buffer(expanded.shape, expanded.element_type)
        view = ir.Operation.create(
            "memref.collapse_shape",
            results=[old_type],
            operands=[whole],
            attributes={"reassociation": expand.attributes["reassociation"]},
        ).result
    alloc.results[0].replace_all_uses_with(view)
    alloc.erase()
    with to_tensor.location, ir.InsertionPoint(to_tensor):
        tensor = result_tensor(whole)
    expand.results[0].replace_all_uses_with(tensor)
    expand.erase()
    to_tensor.erase()
    return True
