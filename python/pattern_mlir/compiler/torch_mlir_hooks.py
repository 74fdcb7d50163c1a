"""Importer hooks for torch-mlir; imported only in the import child process.

torch-mlir turns every weight into an attribute through `tensor.tolist()`, one
Python float per element: over a minute for ResNet-50's 25M weights.
`FastLiterals` makes the same `torch.vtensor.literal` ops (same values, same
blob names) straight from the tensor's memory. A test imports a model both
ways and requires identical modules.
"""

from __future__ import annotations

import torch
from torch_mlir.extras.fx_importer import FxImporterHooks, create_mlir_tensor_type
from torch_mlir.ir import DenseResourceElementsAttr, Operation


class FastLiterals(FxImporterHooks):
    """Float32 weight tensors -> torch.vtensor.literal with a dense_resource blob, no tolist()."""

    def resolve_literal(self, gni, literal, info):
        if not isinstance(literal, torch.Tensor) or literal.dtype != torch.float32:
            return None
        if literal.numel() <= 1:  # torch-mlir makes these splat attributes; keep its path
            return None
        array = literal.detach().contiguous().numpy()
        shape = "_".join(str(d) for d in literal.shape)
        attr = DenseResourceElementsAttr.get_from_buffer(
            array, f"torch_tensor_{shape}_{literal.dtype}", create_mlir_tensor_type(literal)
        )
        vtensor = gni._cc.tensor_to_vtensor_type(literal)
        return Operation.create("torch.vtensor.literal", results=[vtensor], attributes={"value": attr}).result
