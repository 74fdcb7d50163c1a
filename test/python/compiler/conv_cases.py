"""Random pattern-conv layers as MLIR modules, shared by the compiler tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from mlir import ir
from mlir.dialects import func
from pattern_mlir.dialects import builders


@dataclass(frozen=True)
class ConvCase:
    in_channels: int
    out_channels: int
    height: int
    width: int
    stride: int
    padding: int
    dilation: int
    num_patterns: int
    connectivity: float
    activation: str = "none"
    bias: bool = True
    seed: int = 0


def random_library(num_patterns: int, rng) -> np.ndarray:
    """`num_patterns` distinct 4-tap 3x3 masks, centre kept."""
    others = [t for t in range(9) if t != 4]
    chosen: set[tuple[int, ...]] = set()
    while len(chosen) < num_patterns:
        chosen.add(tuple(sorted(rng.choice(others, 3, replace=False))))
    masks = np.zeros((num_patterns, 9), bool)
    for i, taps in enumerate(sorted(chosen)):
        masks[i, [4, *taps]] = True
    return masks.reshape(-1, 3, 3)


def make_layer(case: ConvCase):
    """(weight OIHW, bias, library) with kernels projected onto the library.

    1/connectivity of the kernels survive; filter 0 keeps none, so the
    no-kernel filter path is always exercised.
    """
    rng = np.random.default_rng(case.seed)
    library = random_library(case.num_patterns, rng)
    o, i = case.out_channels, case.in_channels
    ids = rng.integers(0, case.num_patterns, size=(o, i))
    keep = rng.random((o, i)) < 1.0 / case.connectivity
    keep[0] = False
    weight = rng.standard_normal((o, i, 3, 3)).astype(np.float32)
    weight *= library[ids] & keep[..., None, None]
    bias = rng.standard_normal(o).astype(np.float32) if case.bias else None
    return weight, bias, library


def build_case_conv(x: ir.Value, case: ConvCase, weight, bias, library) -> ir.Value:
    """The pattern.conv2d of `case` (its weights from make_layer) on `x`, at the insertion point."""
    return builders.build_conv2d(
        x,
        weight,
        library,
        bias=bias,
        stride=case.stride,
        padding=case.padding,
        dilation=case.dilation,
        activation=case.activation,
    )


def conv_module_text(case: ConvCase) -> tuple[str, np.ndarray, np.ndarray | None]:
    """A module whose @forward is one pattern.conv2d of `case`."""
    weight, bias, library = make_layer(case)
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.create()
        in_type = ir.RankedTensorType.get(
            [1, case.in_channels, case.height, case.width], ir.F32Type.get()
        )
        with ir.InsertionPoint(module.body):

            @func.FuncOp.from_py_func(in_type, name="forward")
            def forward(x):
                return build_case_conv(x, case, weight, bias, library)

        return str(module), weight, bias


def torch_reference(case: ConvCase, x: np.ndarray, weight, bias) -> np.ndarray:
    y = torch.nn.functional.conv2d(
        torch.from_numpy(x),
        torch.from_numpy(weight),
        None if bias is None else torch.from_numpy(bias),
        stride=case.stride,
        padding=case.padding,
        dilation=case.dilation,
    )
    if case.activation == "relu":
        y = torch.relu(y)
    elif case.activation == "relu6":
        y = torch.clamp(y, 0, 6)
    return y.numpy()


def relative_error(actual, expected) -> float:
    actual, expected = np.asarray(actual), np.asarray(expected)
    return float(np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-6))


def sweep(count: int, seed: int = 0) -> list[ConvCase]:
    """`count` random configurations covering the axes the issue names."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        stride, dilation = int(rng.choice([1, 1, 2, 3])), int(rng.choice([1, 1, 2]))
        size = int(rng.integers(5, 20)) + 2 * dilation
        cases.append(
            ConvCase(
                in_channels=int(rng.choice([1, 2, 3, 5, 8, 13, 16])),
                out_channels=int(rng.choice([1, 2, 3, 7, 16, 19])),
                height=size,
                width=int(rng.integers(5, 40)) + 2 * dilation,
                stride=stride,
                padding=int(rng.integers(0, 3)),
                dilation=dilation,
                num_patterns=int(rng.choice([4, 8, 12])),
                connectivity=float(rng.choice([1.0, 2.0, 3.6, 5.0])),
                activation=str(rng.choice(["none", "relu", "relu6"])),
                bias=bool(rng.random() < 0.7),
                seed=i,
            )
        )
    return cases
