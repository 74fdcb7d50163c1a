"""Child process of ``pattern_import.export_linalg``: torch.export archive -> linalg text.

Why a child: torch-mlir carries its own MLIR/LLVM, and lavapipe (Mesa's LLVM)
and the ``mlir`` wheel bring two more; in one process they have aborted while
exporting whole networks. The model crosses as a ``torch.export`` archive, the IR
comes back as text.
"""

import sys
import warnings

import torch


def main(*paths: str) -> None:
    """Export each (archive, output) pair of ``paths``."""
    warnings.filterwarnings("ignore")
    from torch_mlir import fx

    try:  # the CPU path's hook builds weight blobs from tensor memory (much faster)
        from pattern_mlir.compiler.torch_mlir_hooks import FastLiterals

        hooks = FastLiterals()
    except ImportError:
        hooks = None
    for archive, output in zip(paths[0::2], paths[1::2]):
        exported = torch.export.load(archive)
        module = fx.export_and_import(
            exported, output_type="linalg-on-tensors", func_name="main", hooks=hooks
        )
        with open(output, "w") as out:
            out.write(str(module))


if __name__ == "__main__":
    main(*sys.argv[1:])
