"""Preparation process: build a zoo model, project it, write what every runtime loads.

Projection happens once, here, so that all runtimes provably run the same weights: the
projected ``state_dict``, the example input, torch's output at one thread (the reference of
the arm64 check) and the ONNX export (the ORT and MNN model) are written side by side. MACs
are counted here too: dense (every conv and linear) and kept (pruned 3x3 convs at their kept
taps), which the report needs for useful GFLOP/s. A process of its own because the ONNX
exporter and the projection hold a lot of memory that the timed processes should not inherit.

BatchNorm gets random statistics (``build(..., random_bn=True)``, as the compiler tests do):
with a fresh BatchNorm's identity statistics the zoo's deep models give almost constant outputs
(colorization's barely vary at all), against which an output check proves little. The architecture,
and so the work, is the same either way.

    PYTHONPATH=scripts .venv/bin/python -m bench.model.prepare --model vgg16 \
        --root /tmp/bench_models/models/vgg16
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from pattern_mlir import models, prune

from ..onnx_export import export_onnx
from ..protocol import emit
from .files import Prepared, source_digest

__all__ = ["main"]


def _macs(model: torch.nn.Module, x: torch.Tensor, spec) -> dict:
    counts = models.count_macs(model, x)
    convs = prune.conv_costs(model, x, spec)
    saved = convs["dense_macs"] - convs["macs"]
    return {
        "dense": counts["total"],
        "kept": counts["total"] - saved,
        "conv3x3_dense": counts["conv3x3"],
        "projected_layers": len(spec.layers),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, choices=[m for m in models.MODELS])
    ap.add_argument("--patterns", type=int, default=8)
    ap.add_argument("--connectivity", type=float, default=3.6)
    ap.add_argument("--block-sparsity", type=float, default=0.0)
    ap.add_argument("--root", required=True, help="directory to write the files into")
    args = ap.parse_args()
    torch.set_num_threads(1)
    files = Prepared(args.model, Path(args.root))
    files.root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model, x = models.build(args.model, random_bn=True)
    spec = prune.project(
        model,
        num_patterns=args.patterns,
        connectivity=args.connectivity,
        block_sparsity=args.block_sparsity,
    )
    project_s = time.perf_counter() - t0
    with torch.no_grad():
        reference = model(x)
    meta = {
        "model": args.model,
        "input_shape": list(x.shape),
        "output_shape": list(reference.shape),
        "macs": _macs(model, x, spec),
        "library": len(next(iter(spec.layers.values())).library) if spec.layers else 0,
        "source_digest": source_digest(args.model),
        "project_s": project_s,
    }
    torch.save(model.state_dict(), files.state)
    np.save(files.input, x.numpy())
    np.save(files.reference, reference.numpy())
    t0 = time.perf_counter()
    with torch.no_grad():
        meta["onnx_names"] = export_onnx(model, x, files.onnx)
    meta["onnx_export_s"] = time.perf_counter() - t0
    files.meta_path.write_text(json.dumps(meta, indent=1))
    emit(meta)


if __name__ == "__main__":
    main()
