"""LLVM options the compiler sets for every optimisation of generated code: the host JIT (in
this process, through libLLVM's C API) and `opt` for saved libraries (as flags), alike.

`UNROLL_THRESHOLD_AGGRESSIVE`: at -O3 LLVM fully unrolls loops up to a cost of 300
instructions (150 at -O2). The code we generate is already unrolled where it pays (register
blocks, vector tiles); what -O3 unrolls further are the scalar loops around leftover ops
(transposes, bool tensors, f64 norms), which the loop and SLP vectorisers then chew on: a
small transformer compiled several times slower in the JIT at -O3 than at -O2, with the same
run time (measured: docs/design.md, section 10). -O3 keeps everything else, with -O2's
unroll budget.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

__all__ = ["FLAGS", "configure_jit"]

UNROLL_THRESHOLD_AGGRESSIVE = 150
FLAGS = (f"-unroll-threshold-aggressive={UNROLL_THRESHOLD_AGGRESSIVE}",)


def _libllvm() -> Path:
    import llvm  # the xtc-llvm wheel's package: its lib/ holds the libLLVM.so the JIT uses

    return Path(next(iter(llvm.__path__))) / "lib" / "libLLVM.so"


@functools.cache
def configure_jit() -> None:
    """Sets FLAGS in this process's LLVM (options are process-wide; once is enough)."""
    library = ctypes.CDLL(str(_libllvm()))
    argv = (ctypes.c_char_p * (len(FLAGS) + 1))(b"pattern-mlir", *(flag.encode() for flag in FLAGS))
    library.LLVMParseCommandLineOptions.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)
    library.LLVMParseCommandLineOptions.restype = None
    library.LLVMParseCommandLineOptions(len(FLAGS) + 1, argv, b"")
