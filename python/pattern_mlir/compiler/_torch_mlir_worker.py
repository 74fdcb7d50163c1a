"""Child process of `torch_import`: torch.export archive -> linalg-on-tensors text and weights.

The text leaves the weight blobs out (`dense_resource<name>` handles only, `module_text`);
the weights go to `<output>.weights` as raw arrays (`weight_files`), which costs a copy
instead of printing and parsing every weight as hex. If the module holds a blob the hooks did not make, the text
keeps every blob, so nothing is ever lost.
"""

import re
import sys
import warnings

import torch


def main(archive: str, output: str, func_name: str) -> None:
    warnings.filterwarnings("ignore")
    from torch_mlir import compiler_utils, fx

    from .module_text import module_text
    from .torch_mlir_hooks import FastLiterals, run_pipeline_without_repro_text
    from .weight_files import write_arrays

    # Both import steps (FX -> torch backend IR, then -> linalg) run their pipelines so.
    fx.run_pipeline_with_repro_report = run_pipeline_without_repro_text
    compiler_utils.run_pipeline_with_repro_report = run_pipeline_without_repro_text

    exported = torch.export.load(archive)
    hooks = FastLiterals()
    module = fx.export_and_import(exported, output_type="linalg-on-tensors", func_name=func_name, hooks=hooks)
    text = module_text(module)
    handles = set(re.findall(r"dense_resource<([^>]+)>", text))
    external = handles <= hooks.arrays.keys()
    with open(output, "w") as out:
        if external:
            out.write(text)
        else:
            module.operation.print(file=out)
    write_arrays(f"{output}.weights", {name: hooks.arrays[name] for name in handles} if external else {})


if __name__ == "__main__":
    main(*sys.argv[1:4])
