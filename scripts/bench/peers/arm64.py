"""The arm64-neon build of a model: compile time, and one run under qemu checked against torch.

No timing of the run: qemu-aarch64 emulates every instruction, so its seconds say nothing about
a phone (they are recorded only so that a reader sees what the check cost). The compile goes
through ``pattern_mlir.compile(target="arm64-neon")``: import, the same stages as the host
with arm64 lowering, then LLVM IR -> opt -> llc -mcpu=cortex-a76 -> a shared library. The
compiler's temporary directory (LLVM IR, assembly and library: gigabytes for VGG-16, whose
weights become data directives) is removed afterwards.

    PYTHONPATH=scripts .venv/bin/python -m bench.peers.arm64 --model resnet50 \
        --root /tmp/bench_models/models/<the prepared directory>
"""

from __future__ import annotations

import argparse
import time
import traceback
from pathlib import Path

import numpy as np
import pattern_mlir
import torch

from ..checks import errors, judge
from ..model.files import Prepared
from ..protocol import emit
from ..timing import cpu_seconds
from .torch import load_projected

__all__ = ["main"]


def build_and_check(files, x: np.ndarray) -> dict:
    model = load_projected(files)
    options = pattern_mlir.CompileOptions(num_threads=1)
    c0, t0 = cpu_seconds(), time.perf_counter()
    exe = pattern_mlir.compile(model, torch.from_numpy(x), target="arm64-neon", options=options)
    result = {"wall_s": time.perf_counter() - t0, "cpu_s": cpu_seconds() - c0}
    result["stages"] = dict(exe.stage_seconds)
    result["library_bytes"] = Path(exe.library).stat().st_size
    t0 = time.perf_counter()
    y = exe(x).numpy().astype(np.float64)
    result["qemu_s"] = time.perf_counter() - t0
    result.update(errors(y, np.load(files.reference)))
    return judge("pattern", result)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--root", required=True, help="the prepared model's directory")
    args = ap.parse_args()
    files = Prepared(args.model, Path(args.root))
    try:
        result = build_and_check(files, np.load(files.input))
    except Exception as error:  # noqa: BLE001 - the report states the failure, the run goes on
        result = {"ok": False, "error": f"{type(error).__name__}: {error}"[-2000:]}
        traceback.print_exc()
    result["model"] = args.model
    emit(result)


if __name__ == "__main__":
    main()
