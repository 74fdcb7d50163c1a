"""The layer as a one-node ONNX model (opset 18), shared by the ONNX Runtime and MNN peers.

Built with ``onnx.helper`` rather than ``torch.onnx.export``: for a single conv the graph is
the same Conv node with its weight and bias initializers, and the peer processes stay free of
torch. Files are cached in the work directory and written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["onnx_model_path"]


def onnx_model_path(data, workdir) -> Path:
    """Path of ``data``'s layer as ONNX under ``workdir`` (written on first use)."""
    layer = data.layer
    path = Path(workdir) / f"{layer.name}.p{data.library.shape[0]}.k{data.kept_macs}.onnx"
    if path.exists():
        return path
    ho, wo = layer.out_hw
    s, p = layer.stride, layer.padding
    node = helper.make_node(
        "Conv",
        ["input", "W", "B"],
        ["output"],
        kernel_shape=[3, 3],
        pads=[p, p, p, p],
        strides=[s, s],
        dilations=[1, 1],
    )
    graph = helper.make_graph(
        [node],
        layer.name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(data.x.shape))],
        [
            helper.make_tensor_value_info(
                "output", TensorProto.FLOAT, [1, layer.out_channels, ho, wo]
            )
        ],
        [numpy_helper.from_array(data.weights, "W"), numpy_helper.from_array(data.bias, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    onnx.save(model, str(tmp))
    tmp.replace(path)
    return path
