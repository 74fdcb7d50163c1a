"""One pattern conv as MLIR text, with random weights and its torch reference.

Why in the package: the numerics tests, the report script and anyone reducing a
bug need the same builder. The text is exactly what ``compile_for_vulkan`` and
``pattern-opt`` consume, and the FKW arrays come from ``codegen.fkw.pack`` as in
the compiler.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pattern_mlir.codegen import fkw
from pattern_mlir.codegen.schedule import schedule_text
from pattern_mlir.dialects.builders import conv_output_size
from pattern_mlir.prune.library import candidate_patterns


@dataclass(frozen=True)
class ConvCase:
    n: int
    cin: int
    h: int
    w: int
    cout: int
    stride: int
    padding: tuple[int, int, int, int]
    dilation: int
    patterns: int
    connectivity: float
    activation: str = "none"
    bias: bool = True
    empty_filters: int = 0  # filters whose every kernel is pruned

    @property
    def out_hw(self) -> tuple[int, int]:
        top, left, bottom, right = self.padding
        oh = (self.h + top + bottom - 2 * self.dilation - 1) // self.stride + 1
        ow = (self.w + left + right - 2 * self.dilation - 1) // self.stride + 1
        return oh, ow


CLAMP = (-0.5, 0.75)


def spread_library(num_patterns: int) -> np.ndarray:
    """(P, 3, 3): P of PatDNN's 56 candidates, every 7th first, so small libraries mix shapes."""
    masks = candidate_patterns()
    order = list(range(0, len(masks), 7)) + [i for i in range(len(masks)) if i % 7]
    return masks[order[:num_patterns]]


def make_layer(case: ConvCase, rng: np.random.Generator):
    """(dense projected weights, library, assignment, bias or None)."""
    library = spread_library(case.patterns)
    assignment = rng.integers(0, case.patterns, (case.cout, case.cin))
    assignment[rng.random(assignment.shape) >= 1.0 / case.connectivity] = -1
    assignment[rng.permutation(case.cout)[: case.empty_filters]] = -1
    weights = rng.standard_normal((case.cout, case.cin, 3, 3)).astype(np.float32)
    weights = fkw.project(weights, library, assignment)
    bias = rng.standard_normal(case.cout).astype(np.float32) if case.bias else None
    return weights, library, assignment, bias


def _list(values) -> str:
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


def _hex(array: np.ndarray) -> str:
    if array.size == 0:
        return ""
    return '"0x' + np.ascontiguousarray(array, dtype=np.float32).tobytes().hex().upper() + '"'


def conv_module(case: ConvCase, weights, library, assignment, bias, schedule=None) -> str:
    """``func.func @main`` holding one pattern.packed_conv2d of the case (with
    ``schedule``, a codegen Schedule, as its ``#pattern.schedule``)."""
    return packed_conv_module(
        fkw.pack(weights, library, assignment),
        (case.n, case.cin, case.h, case.w),
        (case.stride, case.stride),
        case.padding,
        (case.dilation, case.dilation),
        bias,
        case.activation,
        schedule,
    )


def packed_conv_module(
    packed: fkw.PackedFKW,
    input_shape,
    stride,
    padding,
    dilation,
    bias=None,
    activation: str = "none",
    schedule=None,
) -> str:
    """``func.func @main`` holding one pattern.packed_conv2d of FKW arrays: ``padding`` as
    [top, left, bottom, right], ``stride`` and ``dilation`` as pairs."""
    n, cin, h, w = input_shape
    top, left, bottom, right = padding
    oh = conv_output_size(h, top, bottom, 3, stride[0], dilation[0])
    ow = conv_output_size(w, left, right, 3, stride[1], dilation[1])
    taps = ", ".join(_list(np.flatnonzero(m.reshape(-1))) for m in packed.library)
    x_t = f"tensor<{n}x{cin}x{h}x{w}xf32>"
    y_t = f"tensor<{n}x{packed.out_channels}x{oh}x{ow}xf32>"
    w_t = f"tensor<{packed.num_kernels}x{packed.taps_per_kernel}xf32>"
    lines = [f"  %w = arith.constant dense<{_hex(packed.weights)}> : {w_t}"]
    operands, types = "%x, %w", f"{x_t}, {w_t}"
    if bias is not None:
        b_t = f"tensor<{packed.out_channels}xf32>"
        lines.append(f"  %b = arith.constant dense<{_hex(bias)}> : {b_t}")
        operands += ", %b"
        types += f", {b_t}"
    act = "" if activation == "none" else f" activation <{activation}>"
    attrs = []
    if activation == "clamp":
        attrs += [f"clamp_max = {CLAMP[1]} : f32", f"clamp_min = {CLAMP[0]} : f32"]
    if schedule is not None:
        attrs.append(f"schedule = {schedule_text(schedule)}")
    extra = f" {{{', '.join(attrs)}}}" if attrs else ""
    lines.append(
        f"  %y = pattern.packed_conv2d {operands} library #pattern.library<3x3, [{taps}]>"
        f" filter_order {_list(packed.filter_order)} offsets {_list(packed.offsets)}"
        f" channels {_list(packed.channels)} strides {_list(stride)}"
        f" padding {_list(padding)} dilations {_list(dilation)}"
        f"{act}{extra} : {types} -> {y_t}"
    )
    body = "\n".join(lines)
    return f"func.func @main(%x: {x_t}) -> {y_t} {{\n{body}\n  return %y : {y_t}\n}}\n"


def reference(case: ConvCase, x, weights, bias) -> np.ndarray:
    top, left, bottom, right = case.padding
    xt = torch.nn.functional.pad(torch.from_numpy(x), (left, right, top, bottom))
    y = torch.nn.functional.conv2d(
        xt,
        torch.from_numpy(weights),
        None if bias is None else torch.from_numpy(bias),
        stride=case.stride,
        dilation=case.dilation,
    )
    if case.activation == "relu":
        y = torch.relu(y)
    elif case.activation == "relu6":
        y = torch.clamp(y, 0.0, 6.0)
    elif case.activation == "clamp":
        y = torch.clamp(y, *CLAMP)
    return y.numpy()


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    scale = max(float(np.abs(want).max()), 1e-6)
    return float(np.abs(got - want).max()) / scale
