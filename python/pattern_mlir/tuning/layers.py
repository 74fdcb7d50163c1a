"""The layers a tuner measures: a signature plus FKW arrays the code generator can run.

Layers come from three places and must get the same signature the compiler computes later
(``signature_of_op`` is what ``pattern-apply-tuning`` uses): pattern ops in MLIR (after
``pattern-raise-conv``), 3x3 convs of a PyTorch model whose weights follow a pattern library
(read directly, so tuning a model does not need the torch-mlir import), and plain arrays.
Weight values do not change a kernel's speed, only the structure (library and which kernels
are kept), so one layer per distinct signature is tuned and ``count`` says how often it occurs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..codegen.fkw import PackedFKW, pack
from ..tuning_db.signature import GPU_TARGET, PATTERN_CONV_OPS, LayerSignature, signature_of_op

__all__ = [
    "TuneLayer",
    "layer_from_arrays",
    "layers_from_module",
    "layers_from_torch",
    "unique_layers",
]


@dataclass
class TuneLayer:
    """One distinct pattern conv to tune; ``names`` lists where it occurs in the model."""

    signature: LayerSignature
    packed: PackedFKW
    names: list[str]

    @property
    def count(self) -> int:
        return len(self.names)

    @property
    def symmetric_padding(self) -> tuple[int, int]:
        return self.signature.padding[0], self.signature.padding[1]

    def supported(self) -> str | None:
        """Why this layer cannot be measured for its target here, or None if it can (the
        GPU kernel takes any padding; a missing Vulkan driver is reported when measuring)."""
        if self.signature.target == GPU_TARGET:
            return None
        top, left, bottom, right = self.signature.padding
        if (top, left) != (bottom, right):
            return f"asymmetric padding {list(self.signature.padding)}"
        from ..target import resolve_target, runs_on_host

        if not runs_on_host(resolve_target(self.signature.target)):
            return f"target {self.signature.target!r} cannot be measured on this machine"
        return None


def layer_from_arrays(
    weights: np.ndarray,
    library: np.ndarray,
    assignment: np.ndarray,
    height: int,
    width: int,
    stride=1,
    padding=1,
    dilation=1,
    name: str = "conv",
    target: str = "host",
    cpu: str | None = None,
) -> TuneLayer:
    """A layer from OIHW weights, (P, 3, 3) masks and the (O, I) pattern assignment."""
    packed = pack(weights, library, assignment)
    out_channels, in_channels = assignment.shape
    sig = LayerSignature.make(
        in_channels,
        out_channels,
        height,
        width,
        stride,
        padding,
        dilation,
        library,
        packed.num_kernels,
        target,
        cpu,
    )
    return TuneLayer(sig, packed, [name])


def unique_layers(layers: list[TuneLayer]) -> list[TuneLayer]:
    """Merges layers with equal keys (first occurrence kept, names appended), in order."""
    merged: dict[str, TuneLayer] = {}
    for layer in layers:
        key = layer.signature.key()
        if key in merged:
            merged[key].names.extend(layer.names)
        else:
            merged[key] = TuneLayer(layer.signature, layer.packed, list(layer.names))
    return list(merged.values())


# ----- MLIR --------------------------------------------------------------------------------
def _packed_of_op(op) -> PackedFKW:
    from ..passes.utils.conv_info import packed_fkw

    return packed_fkw(op)


def layers_from_module(module, target: str = "host", cpu: str | None = None) -> list[TuneLayer]:
    """Every pattern conv of a module (run ``pattern-raise-conv`` first on linalg input)."""
    from ..passes.utils.conv_info import collect_ops

    layers = []
    index = 0
    for name in PATTERN_CONV_OPS:
        for op in collect_ops(module, name):
            sig = signature_of_op(op, target, cpu)
            layers.append(TuneLayer(sig, _packed_of_op(op), [f"conv{index} ({op.location})"]))
            index += 1
    return layers


# ----- PyTorch -----------------------------------------------------------------------------
def layers_from_torch(
    model, example_input, target: str = "host", cpu: str | None = None
) -> list[TuneLayer]:
    """3x3 convs of a torch model whose weights follow a pattern library, in call order.

    Input sizes come from one forward pass with hooks. The library and assignment are derived
    from the weights exactly as ``pattern-raise-conv`` derives them from the imported IR.
    """
    import torch
    from torch import nn

    from ..dialects.builders import derive_assignment, derive_library

    seen: list[tuple[str, nn.Conv2d, tuple[int, ...]]] = []
    hooks = []
    for name, module in model.named_modules():
        if (
            isinstance(module, nn.Conv2d)
            and tuple(module.kernel_size) == (3, 3)
            and module.groups == 1
            and module.padding_mode == "zeros"
        ):

            def hook(mod, inputs, output, name=name):
                seen.append((name, mod, tuple(inputs[0].shape)))

            hooks.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(example_input)
    finally:
        for h in hooks:
            h.remove()
    layers = []
    for name, conv, shape in seen:
        weight = conv.weight.detach().cpu().numpy().astype(np.float32)
        library = derive_library(weight)
        if library is None or shape[0] != 1 or isinstance(conv.padding, str):
            continue
        assignment = derive_assignment(weight, library)
        layers.append(
            layer_from_arrays(
                weight,
                library,
                assignment,
                shape[2],
                shape[3],
                conv.stride,
                conv.padding,
                conv.dilation,
                name=name,
                target=target,
                cpu=cpu,
            )
        )
    return layers
