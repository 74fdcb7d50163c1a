"""Tensors to buffers, and every buffer-level op to parallel loops.

Why upstream passes: One-Shot Bufferize decides in-place reuse and copies for the
whole function far better than a hand-written allocator, and
``convert-linalg-to-parallel-loops`` lowers every linalg op (named or generic)
to an ``scf.parallel`` over its parallel dimensions with the reductions as
sequential loops inside, which is the one-invocation-per-output-element form the
GPU mapping needs. Two gaps are filled here: ``memref.copy`` (from tensor.pad and
insert_slice) becomes ``linalg.copy`` so it lowers to loops too, and each linalg
op's location is tagged with a kernel name (``k<index>_<op>``) that survives
into the outlined kernel, the report and diagnostics.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import linalg
from mlir.passmanager import PassManager

from pattern_mlir.gpu.errors import GpuLoweringError
from pattern_mlir.gpu.irutil import as_operation, ops_named

BUFFERIZE = (
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map "
    "unknown-type-conversion=identity-layout-map}"
)
TENSOR_CLEANUP = "canonicalize,cse,func.func(linalg-fuse-elementwise-ops),canonicalize,cse"
TO_LOOPS = (
    "func.func(convert-linalg-to-parallel-loops),canonicalize,"
    "fold-memref-alias-ops,lower-affine,canonicalize,cse"
)


def run_pipeline(module: ir.Module, pipeline: str, stage: str) -> None:
    try:
        PassManager.parse(f"builtin.module({pipeline})").run(as_operation(module))
    except ir.MLIRError as exc:
        raise GpuLoweringError(f"{stage} failed ({pipeline}): {exc}") from exc


def bufferize(module: ir.Module) -> None:
    run_pipeline(module, BUFFERIZE + ",canonicalize,cse,symbol-dce", "bufferization")
    copies_to_linalg(module)


def copies_to_linalg(module: ir.Module) -> int:
    copies = ops_named(module, "memref.copy")
    for copy in copies:
        with ir.InsertionPoint(copy), copy.location:
            linalg.copy(copy.operands[0], outs=[copy.operands[1]])
        copy.erase()
    return len(copies)


def short_op_name(name: str) -> str:
    return name.split(".", 1)[-1].replace(".", "_")


def tag_linalg_ops(module: ir.Module, start: int = 0) -> int:
    """Give every linalg op a ``k<i>_<op>`` name location; return the next index."""
    index = start
    for func in ops_named(module, "func.func"):
        for block in func.regions[0].blocks:
            for op in block.operations:
                op = as_operation(op)
                if op.name.startswith("linalg."):
                    name = f"k{index}_{short_op_name(op.name)}"
                    op.location = ir.Location.name(name, childLoc=op.location)
                    index += 1
    return index


def to_parallel_loops(module: ir.Module) -> None:
    run_pipeline(module, TO_LOOPS, "lowering linalg to parallel loops")
