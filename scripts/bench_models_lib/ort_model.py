"""ONNX Runtime (CPU execution provider), dense, on the prepared ONNX export."""

from __future__ import annotations

import onnxruntime as ort

from .worker import run_model_worker


def setup(files, x, threads, args):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(files.onnx), opts, providers=["CPUExecutionProvider"])
    names = files.meta()["onnx_names"]
    feeds = {names["input"]: x}
    return {"run": lambda: sess.run([names["output"]], feeds)[0]}


def main() -> None:
    run_model_worker(
        "ort", __doc__.splitlines()[0], setup, info=lambda: {"version": ort.__version__}
    )


if __name__ == "__main__":
    main()
