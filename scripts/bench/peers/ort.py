"""ONNX Runtime (CPU execution provider), dense: a layer's one-node ONNX model or a model's export."""

from __future__ import annotations

import onnxruntime as ort

from ..worker import run_worker


def session(path, threads: int) -> ort.InferenceSession:
    """The peer's session: ``threads`` intra-op threads, sequential, every graph optimisation."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _run(path, names: dict, x, threads: int):
    sess = session(path, threads)
    feeds = {names["input"]: x}
    return {"run": lambda: sess.run([names["output"]], feeds)[0]}


def layer_setup(data, threads, args):
    from ..layer.onnx_conv import onnx_model_path

    names = {"input": "input", "output": "output"}
    return _run(onnx_model_path(data, args.workdir), names, data.x, threads)


def model_setup(files, threads, args):
    return _run(files.onnx, files.meta()["onnx_names"], files.x, threads)


def main() -> None:
    run_worker(
        "ort",
        __doc__.splitlines()[0],
        layer=layer_setup,
        model=model_setup,
        info=lambda: {"version": ort.__version__},
    )


if __name__ == "__main__":
    main()
