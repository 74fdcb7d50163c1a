"""ONNX Runtime (CPU execution provider), dense conv from the one-node ONNX model."""

from __future__ import annotations

import onnxruntime as ort

from .onnx_model import onnx_model_path
from .worker import run_worker


def setup(data, threads, args):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(
        str(onnx_model_path(data, args.workdir)), opts, providers=["CPUExecutionProvider"]
    )
    feeds = {"input": data.x}
    return {"run": lambda: sess.run(["output"], feeds)[0]}


def main() -> None:
    run_worker("ort", __doc__.splitlines()[0], setup, info=lambda: {"version": ort.__version__})


if __name__ == "__main__":
    main()
