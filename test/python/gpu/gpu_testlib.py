"""Test helpers of the GPU path (re-exported from pattern_mlir.gpu.conv_cases)."""

from pattern_mlir.gpu.conv_cases import (
    CLAMP,
    ConvCase,
    conv_module,
    make_layer,
    reference,
    relative_error,
)
from pattern_mlir.gpu.pattern_import import candidate_library

#: Library and connectivity the sample models are pruned with.
LIBRARY = candidate_library(8)
CONNECTIVITY = 2.0

__all__ = [
    "CLAMP",
    "CONNECTIVITY",
    "LIBRARY",
    "ConvCase",
    "conv_module",
    "make_layer",
    "reference",
    "relative_error",
]
