"""Keep a compiled host executable between rounds: LLVM-dialect bytecode, reloaded into the JIT.

Rounds after the first run pattern-mlir in a fresh process too (the protocol), without
compiling again each round. ``Executable.save`` would do, but it builds a shared library with
llc; this keeps the executable as it is: the module the JIT runs, as bytecode, and its large
constants (which the JIT reads from memory, not from the module) as one raw file, mapped back
in. Reloading costs the parse plus the JIT's code generation, as every real start-up does.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlir import ir
from pattern_mlir.backend.weight_blob import ExternalConstant
from pattern_mlir.compiler.executable import HostExecutable
from pattern_mlir.frontend.weight_files import read_arrays, write_arrays
from pattern_mlir.runtime.call_signature import TensorSpec

__all__ = ["load_runnable", "save_runnable"]


def save_runnable(exe: HostExecutable, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "model.mlirbc", "wb") as f:
        exe.module.operation.write_bytecode(f)
    write_arrays(directory / "constants.bin", {c.symbol: c.data for c in exe.constants})
    spec = {
        "inputs": [s.to_json() for s in exe.inputs],
        "outputs": [s.to_json() for s in exe.outputs],
        "threads": exe.threads,
        "opt_level": exe.opt_level,
        "alignments": {c.symbol: c.alignment for c in exe.constants},
    }
    (directory / "host.json").write_text(json.dumps(spec))


def load_runnable(directory: Path) -> HostExecutable:
    from pattern_mlir import register_dialect

    register_dialect()  # the module holds pattern IR attributes

    spec = json.loads((directory / "host.json").read_text())
    arrays = read_arrays(directory / "constants.bin")
    constants = [
        ExternalConstant(name, data, spec["alignments"][name]) for name, data in arrays.items()
    ]
    with ir.Context():
        module = ir.Module.parse((directory / "model.mlirbc").read_bytes())
        return HostExecutable(
            [TensorSpec.from_json(s) for s in spec["inputs"]],
            [TensorSpec.from_json(s) for s in spec["outputs"]],
            {},
            module=module,
            opt_level=spec["opt_level"],
            threads=spec["threads"],
            constants=constants,
        )
