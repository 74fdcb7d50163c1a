"""Test helpers of the GPU path (re-exported from pattern_mlir.gpu.conv_cases)."""

from pattern_mlir.gpu.conv_cases import (
    CLAMP,
    ConvCase,
    conv_module,
    make_layer,
    reference,
    relative_error,
)

__all__ = ["CLAMP", "ConvCase", "conv_module", "make_layer", "reference", "relative_error"]
