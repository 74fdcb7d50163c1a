"""Import zoo models through torch-mlir's FX importer to linalg-on-tensors; run as a script.

    python torch_mlir_import.py [name ...]     # default: every model, at its small size

Run by test_models.py in a child process, never imported into the test process: torch_mlir
loads a second LLVM/MLIR that breaks the project's MLIR JIT in the same process (docs/design.md
section 3). Prints one "ok <name>" line per model and exits non-zero on the first failure.

torch-mlir turns every weight into an MLIR attribute through `tensor.tolist()`, one Python float
per element: minutes for ResNet-50's 25M weights on a busy machine. The compiler's `FastLiterals`
hook makes the same `torch.vtensor.literal` ops (same values, same blob names) from the
tensor's memory instead. The small Fashion-MNIST CNN is also imported without the hook, exactly
as `fx.export_and_import(model, x, output_type="linalg-on-tensors")`, and the two printed
modules (weights included) must be equal, so the hook cannot hide a difference in what is
imported.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter

import torch
from pattern_mlir.frontend.torch_mlir_hooks import FastLiterals
from pattern_mlir.models import MODELS, build
from torch_mlir import fx

HOOK_CHECK = "fashion-cnn"


def op_counts(module) -> Counter[str]:
    """How often each operation occurs in `module` (printing would copy every weight blob)."""
    names: Counter[str] = Counter()

    def visit(op):
        names[op.name] += 1
        for region in op.regions:
            for block in region.blocks:
                for inner in block.operations:
                    visit(inner.operation)

    visit(module.operation)
    return names


def import_linalg(name: str, fast: bool = True):
    """The linalg-on-tensors module of zoo model `name` at its small size."""
    model, x = build(name, small=True)
    hooks = {"hooks": FastLiterals()} if fast else {}
    module = fx.export_and_import(model, x, output_type="linalg-on-tensors", **hooks)
    left = sorted(n for n in op_counts(module) if n.startswith("torch."))
    if left:
        raise AssertionError(f"{name}: torch dialect ops left after lowering to linalg: {left}")
    return module


def main(names: list[str]) -> None:
    warnings.simplefilter("ignore")
    torch.set_num_threads(2)
    # The hook's witness: the smallest model, imported both ways, must print identically.
    plain, fast = import_linalg(HOOK_CHECK, fast=False), import_linalg(HOOK_CHECK)
    if str(plain) != str(fast):
        raise AssertionError(f"{HOOK_CHECK}: FastLiterals changed the imported module")
    for name in names:
        module = import_linalg(name)
        convs = {
            n: c for n, c in op_counts(module).items() if n.startswith("linalg.") and "conv" in n
        }
        print(f"ok {name} {convs}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
