"""MNN (CPU backend), dense, converted from ONNX (Winograd for 3x3): a layer or a whole model.

The ONNX model is converted with ``_tools.mnnconvert`` in-process (never the ``mnnconvert``
console script: it pip-installs a package and sends telemetry), once, next to the ONNX file.
Timed: ``Module.forward`` on a prebuilt input variable; reading the result into numpy is left
out of the timing (it is a copy the other runtimes do not make).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import _tools
import MNN
import numpy as np

from ..worker import run_worker

_nn, _expr = MNN.nn, MNN.expr
_KEEP: list = []  # the module must outlive its runtime manager's users


@contextlib.contextmanager
def _quiet():
    """The converter prints progress on the C level stdout: keep the result line alone there."""
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def convert(src: Path, path: Path) -> Path:
    """ONNX ``src`` -> MNN ``path`` (atomic: a killed run leaves no half-written model)."""
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        args = ["mnnconvert", "-f", "ONNX", "--modelFile", str(src), "--MNNModel", str(tmp)]
        with _quiet():
            ok = _tools.mnnconvert([*args, "--bizCode", "bench"])
        if not ok or not tmp.exists():
            raise RuntimeError(f"MNN conversion of {src} failed")
        tmp.replace(path)
    return path


def _forward(path: Path, names: dict, x: np.ndarray, threads: int):
    runtime = _nn.create_runtime_manager(({"backend": "CPU", "numThread": threads},))
    module = _nn.load_module_from_file(
        str(path), [names["input"]], [names["output"]], runtime_manager=runtime
    )
    xv = _expr.const(np.ascontiguousarray(x).ravel(), list(x.shape), _expr.NCHW)
    _KEEP[:] = [runtime, module, xv]
    return {"forward": lambda: module.forward(xv)}


def layer_setup(data, threads, args):
    from ..layer.onnx_conv import onnx_model_path

    src = onnx_model_path(data, args.workdir)
    path = convert(src, src.with_suffix(".mnn"))
    return _forward(path, {"input": "input", "output": "output"}, data.x, threads)


def model_setup(files, threads, args):
    convert(files.onnx, files.mnn)
    return _forward(files.mnn, files.meta()["onnx_names"], files.x, threads)


def _as_array(y) -> np.ndarray:
    return np.array(_expr.convert(y, _expr.NCHW).read()).reshape(y.shape)


def main() -> None:
    run_worker(
        "mnn",
        __doc__.splitlines()[0],
        layer=layer_setup,
        model=model_setup,
        as_array=_as_array,
        info=lambda: {"version": MNN.version()},
    )


if __name__ == "__main__":
    main()
