"""MNN (CPU backend), dense conv: Winograd for 3x3, the fastest dense peer on this machine.

The ONNX model is converted with ``_tools.mnnconvert`` in-process (never the ``mnnconvert``
console script: it pip-installs a package and sends telemetry). Timed: ``Module.forward`` on a
prebuilt input variable; reading the result into numpy is left out of the timing (it is a
copy the other runtimes do not make).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import _tools
import MNN
import numpy as np

from .onnx_model import onnx_model_path
from .worker import run_worker

_nn, _expr = MNN.nn, MNN.expr


@contextlib.contextmanager
def _quiet():
    """The converter prints progress on the C level stdout: keep the JSON line alone there."""
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def mnn_model_path(data, workdir) -> Path:
    src = onnx_model_path(data, workdir)
    path = src.with_suffix(".mnn")
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        args = ["mnnconvert", "-f", "ONNX", "--modelFile", str(src), "--MNNModel", str(tmp)]
        with _quiet():
            ok = _tools.mnnconvert([*args, "--bizCode", "bench"])
        if not ok or not tmp.exists():
            raise RuntimeError(f"MNN conversion of {src} failed")
        tmp.replace(path)
    return path


def setup(data, threads, args):
    path = mnn_model_path(data, args.workdir)
    runtime = _nn.create_runtime_manager(({"backend": "CPU", "numThread": threads},))
    module = _nn.load_module_from_file(str(path), ["input"], ["output"], runtime_manager=runtime)
    x = _expr.const(data.x.ravel(), list(data.x.shape), _expr.NCHW)
    setup.keep = (runtime, module, x)  # the module must outlive its runtime manager's users
    return {"forward": lambda: module.forward(x)}


def _as_array(y) -> np.ndarray:
    return np.array(_expr.convert(y, _expr.NCHW).read()).reshape(y.shape)


def main() -> None:
    run_worker(
        "mnn",
        __doc__.splitlines()[0],
        setup,
        as_array=_as_array,
        info=lambda: {"version": MNN.version()},
    )


if __name__ == "__main__":
    main()
