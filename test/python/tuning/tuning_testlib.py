"""Helpers of the tuning tests."""

from mlir import ir
from mlir.dialects import func
from pattern_mlir.dialects import builders


def module_text(weights, bias=None, hw=(12, 20)) -> str:
    """One pattern conv (+ bias, ReLU) of ``weights`` on a (1, I, *hw) input, as MLIR text."""
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.create()
        t = ir.RankedTensorType.get([1, weights.shape[1], *hw], ir.F32Type.get())
        with ir.InsertionPoint(module.body):

            @func.FuncOp.from_py_func(t, name="forward")
            def forward(x):
                return builders.build_conv2d(
                    x,
                    weights,
                    builders.derive_library(weights),
                    bias=bias,
                    padding=1,
                    activation="relu",
                )

        return str(module)
