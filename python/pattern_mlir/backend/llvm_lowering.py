"""The pipeline from the upstream dialects (func, scf, vector, memref, arith, math, async) to
the LLVM dialect: one for every CPU build, compile()'s `llvm` stage and the kernels the tuner,
the benchmarks and the tests JIT on their own (`backend/host_jit.py`), so that what is measured
is what ships.
"""

from __future__ import annotations

__all__ = ["to_llvm_pipeline"]

# min-task-size=1: every filter group is its own task. The default (1000 iterations per
# task) kept the thread-group loops, which have one iteration per group, in one task: no
# model ran on more than one thread.
ASYNC = (
    "async-parallel-for{min-task-size=1},async-to-async-runtime,async-runtime-ref-counting,"
    "async-runtime-ref-counting-opt,convert-async-to-llvm,"
)
TO_LLVM = (
    "builtin.module(func.func(convert-linalg-to-loops),func.func(llvm-request-c-wrappers),{async}"
    # pattern-vectorize-dense leaves rank-1 transfers and vector.fma; n-D transfers
    # it could not lower become loops of rank-1 ones here, masks become selects.
    "func.func(convert-vector-to-scf{full-unroll=1 target-rank=1},lower-vector-mask),"
    # Math that pattern-expand-math left: powers with variable exponents become powf
    # (llvm.intr.powi takes no vector exponent) and outlined ipowi loops; LLVM intrinsics
    # for the rest; libm calls (CPU libraries link -lm) for what has no intrinsic (f64
    # erf, cbrt, asinh...). libm only after the intrinsics: it would take sqrt and fma too,
    # and it unrolls vectors into vector.extract/insert, so it precedes convert-vector-to-llvm.
    "func.func(math-expand-ops{ops=fpowi}),convert-math-to-funcs,convert-math-to-llvm,"
    "convert-math-to-libm,"
    "convert-scf-to-cf,convert-vector-to-llvm,expand-strided-metadata,lower-affine,"
    "finalize-memref-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
    "convert-ub-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)"
)


def to_llvm_pipeline(threads: int = 1) -> str:
    """The pipeline for code run by `threads` threads (above one: MLIR's async runtime)."""
    return TO_LLVM.replace("{async}", ASYNC if threads > 1 else "")
