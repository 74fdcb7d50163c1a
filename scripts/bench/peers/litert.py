"""LiteRT (TFLite interpreter, XNNPACK delegate), dense, converted from the projected model.

The recipe of docs/design.md section 9: ``litert_torch.convert(model.eval(), (x,)).export(f)`` on the zoo
model with the prepared weights, once per prepared model (cached next to it, written
atomically; the seconds it took go into the result's info), then
``Interpreter(model_path=f, num_threads=n)``. The converted model keeps torch's NCHW input and
output (litert-torch inserts the transposes), so the prepared input is fed as is. Runs in
.venv-litert (``litert_venv``), which the orchestrator starts this worker with. Timed:
``set_tensor``, ``invoke``, ``get_tensor`` (a copy), like ORT's ``run`` that takes and returns
host arrays.
"""

from __future__ import annotations

import os
import time
from importlib.metadata import version

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from ..worker import run_worker

_INFO: dict = {}


def convert(files) -> float:
    """Projected torch model -> .tflite next to it; seconds taken (0 when already there)."""
    if files.tflite.exists():
        return 0.0
    import litert_torch
    import torch

    from .torch import load_projected

    t0 = time.perf_counter()
    tmp = files.tflite.with_suffix(f".{os.getpid()}.tmp")
    x = torch.from_numpy(np.load(files.input))
    litert_torch.convert(load_projected(files), (x,)).export(str(tmp))
    tmp.replace(files.tflite)
    return time.perf_counter() - t0


def model_setup(files, threads, args):
    _INFO.setdefault("convert_s", convert(files))
    interpreter = Interpreter(model_path=str(files.tflite), num_threads=threads)
    try:
        interpreter.allocate_tensors()
    except RuntimeError as error:  # the report's note: converted, but the runtime rejects it
        raise RuntimeError(f"{files.tflite.name} converted but does not load: {error}") from error
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    x = np.ascontiguousarray(files.x)

    def run() -> np.ndarray:
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        return interpreter.get_tensor(out["index"])

    return {"run": run}


def main() -> None:
    run_worker(
        "litert",
        __doc__.splitlines()[0],
        model=model_setup,
        info=lambda: {"version": version("ai-edge-litert"), **_INFO},
    )


if __name__ == "__main__":
    main()
