"""MNN (CPU backend), dense, converted from the prepared ONNX export (Winograd for 3x3).

Converted in-process with ``_tools.mnnconvert`` (never the ``mnnconvert`` console script: it
pip-installs a package and sends telemetry), once per prepared model. Timed: ``Module.forward``
on a prebuilt input variable, as in the layer benchmark.
"""

from __future__ import annotations

import os

import _tools
import MNN
import numpy as np
from bench_peers.mnn_peer import _as_array, _quiet

from .worker import run_model_worker

_nn, _expr = MNN.nn, MNN.expr


def convert(files) -> None:
    """ONNX -> .mnn next to it (atomic: a killed run leaves no half-written model)."""
    if files.mnn.exists():
        return
    tmp = files.mnn.with_suffix(f".{os.getpid()}.tmp")
    args = ["mnnconvert", "-f", "ONNX", "--modelFile", str(files.onnx), "--MNNModel", str(tmp)]
    with _quiet():
        ok = _tools.mnnconvert([*args, "--bizCode", "bench"])
    if not ok or not tmp.exists():
        raise RuntimeError(f"MNN conversion of {files.onnx} failed")
    tmp.replace(files.mnn)


def setup(files, x, threads, args):
    convert(files)
    names = files.meta()["onnx_names"]
    runtime = _nn.create_runtime_manager(({"backend": "CPU", "numThread": threads},))
    module = _nn.load_module_from_file(
        str(files.mnn), [names["input"]], [names["output"]], runtime_manager=runtime
    )
    xv = _expr.const(np.ascontiguousarray(x).ravel(), list(x.shape), _expr.NCHW)
    setup.keep = (runtime, module, xv)  # the module must outlive its runtime manager's users
    return {"forward": lambda: module.forward(xv)}


def main() -> None:
    run_model_worker(
        "mnn",
        __doc__.splitlines()[0],
        setup,
        as_array=_as_array,
        info=lambda: {"version": MNN.version()},
    )


if __name__ == "__main__":
    main()
