"""Child process of `torch_import`: torch.export archive -> linalg-on-tensors text."""

import sys
import warnings

import torch


def main(archive: str, output: str, func_name: str) -> None:
    warnings.filterwarnings("ignore")
    from torch_mlir import fx

    from .torch_mlir_hooks import FastLiterals

    exported = torch.export.load(archive)
    module = fx.export_and_import(
        exported, output_type="linalg-on-tensors", func_name=func_name, hooks=FastLiterals()
    )
    with open(output, "w") as out:
        out.write(str(module))


if __name__ == "__main__":
    main(*sys.argv[1:4])
