"""Keep a compiled host executable between rounds: LLVM-dialect bytecode, reloaded into the JIT.

Rounds after the first run pattern-mlir in a fresh process too (the protocol), but compiling
VGG-16 again each round would cost minutes. ``Executable.save`` would do, yet it also writes
every stage's IR and the LLVM module as text: gigabytes for VGG-16's weights, and slow to parse.
Bytecode keeps the weights as raw blobs; reloading costs the parse plus the JIT's code
generation, which is also part of every real start-up.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlir import ir
from pattern_mlir.compiler.executable import HostExecutable, TensorSpec

__all__ = ["load_runnable", "save_runnable"]


def save_runnable(exe: HostExecutable, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "model.mlirbc", "wb") as f:
        exe._module.operation.write_bytecode(f)  # the LLVM-dialect module the JIT runs
    spec = {
        "inputs": [s.to_json() for s in exe.inputs],
        "outputs": [s.to_json() for s in exe.outputs],
        "threads": exe.threads,
        "opt_level": exe.opt_level,
    }
    (directory / "host.json").write_text(json.dumps(spec))


def load_runnable(directory: Path) -> HostExecutable:
    import pattern_mlir  # noqa: F401 - registers the dialects every context needs

    spec = json.loads((directory / "host.json").read_text())
    with ir.Context():
        module = ir.Module.parse((directory / "model.mlirbc").read_bytes())
        return HostExecutable(
            [TensorSpec.from_json(s) for s in spec["inputs"]],
            [TensorSpec.from_json(s) for s in spec["outputs"]],
            {},
            module=module,
            opt_level=spec["opt_level"],
            threads=spec["threads"],
        )
