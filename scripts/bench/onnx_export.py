"""A torch module as ONNX, the way every ONNX peer of a whole model gets it.

The recipe of docs/design.md section 9: the dynamo exporter, opset 18, the weights inside the
file. Written under a temporary name and moved into place, so a killed run leaves no
half-written model for the next run to reuse.
"""

from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["export_onnx"]


def export_onnx(model: torch.nn.Module, x: torch.Tensor, path: Path) -> dict:
    """Export ``model`` at input ``x`` to ``path``; its graph's input and output names."""
    import onnx

    tmp = path.with_suffix(".tmp.onnx")
    torch.onnx.export(model, (x,), str(tmp), opset_version=18, dynamo=True, external_data=False)
    graph = onnx.load(str(tmp), load_external_data=False).graph
    tmp.replace(path)
    return {"input": graph.input[0].name, "output": graph.output[0].name}
