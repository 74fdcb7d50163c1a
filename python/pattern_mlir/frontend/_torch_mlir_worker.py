"""Child process of `torch_import`: torch.export archive -> linalg-on-tensors text and weights.

Started before the parent has exported its first model, so importing torch and torch-mlir
(seconds of CPU: docs/design.md, section 10) overlaps the export; the paths come on stdin as one
JSON line once the archive exists, and the answer is one JSON line on stdout. The process serves
the parent's later imports too (`serve`). The archive holds meta tensors; the weights come as
raw arrays (`export_weights`).

The text leaves the weight blobs out (`dense_resource<name>` handles only, `module_text`).
Blobs that are the parent's own arrays are named in `<output>.shared.json`; any other blob
goes to `<output>.weights` as raw arrays (`weight_files`), which costs a copy instead of
printing and parsing every weight as hex. If the module holds a blob the hooks did not make,
the text keeps every blob, so nothing is ever lost.
"""

import json
import os
import re
import sys
import traceback
import warnings

import torch

warnings.filterwarnings("ignore")
from torch_mlir import compiler_utils, fx  # noqa: E402
from torch_mlir.extras import fx_importer  # noqa: E402

from ..compiler.module_text import module_text  # noqa: E402
from .export_weights import restore_weights, shared_blobs  # noqa: E402
from .torch_decompositions import decompositions  # noqa: E402
from .torch_mlir_hooks import (  # noqa: E402
    FastLiterals,
    copy_state_in_lists,
    node_location,
    run_pipeline_without_repro_text,
)
from .weight_files import read_arrays, write_arrays  # noqa: E402


def main(archive: str, weights: str, output: str, func_name: str) -> None:
    # Both import steps (FX -> torch backend IR, then -> linalg) run their pipelines so.
    fx.run_pipeline_with_repro_report = run_pipeline_without_repro_text
    compiler_utils.run_pipeline_with_repro_report = run_pipeline_without_repro_text
    fx_importer.ContextCache.get_node_location = node_location

    exported = torch.export.load(archive)
    given = read_arrays(weights)
    restore_weights(exported, given)
    copy_state_in_lists(exported)
    hooks = FastLiterals()
    module = fx.export_and_import(
        exported,
        output_type="linalg-on-tensors",
        func_name=func_name,
        hooks=hooks,
        decomposition_table=decompositions(),
    )
    text = module_text(module, enable_debug_info=True)  # FX locations: errors name the source line
    handles = set(re.findall(r"dense_resource<([^>]+)>", text))
    external = handles <= hooks.arrays.keys()
    with open(output, "w") as out:
        if external:
            out.write(text)
        else:
            module.operation.print(file=out)
    blobs = {name: hooks.arrays[name] for name in handles} if external else {}
    shared = shared_blobs(blobs, given)
    with open(f"{output}.shared.json", "w") as out:
        json.dump(shared, out)
    write_arrays(f"{output}.weights", {name: a for name, a in blobs.items() if name not in shared})


def serve() -> None:
    """Answers import requests, one JSON line each, until stdin closes: `{"ok": true}` or
    `{"ok": false, "error": ...}` on one line of stdout per request. The parent keeps the
    process for its next import (import_child.py), so torch and torch-mlir load once. Anything
    else written to stdout, by Python or by native code, goes to stderr instead: the answers
    have the original stdout to themselves."""
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        request = json.loads(line)
        try:
            main(request["archive"], request["weights"], request["output"], request["func_name"])
            answer = {"ok": True}
        except Exception:  # noqa: BLE001 - any failure of one import is that import's error
            answer = {"ok": False, "error": traceback.format_exc()}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve()
