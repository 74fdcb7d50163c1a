"""Chains of pattern convs vs torch: a conv whose only user is a stride-1 conv writes straight
into that conv's padded input (lower_to_vector's output frame), so the border the producer
zeroes and the pixels it writes must be exactly what the consumer's own padding would give.

Each chain mixes what changes the frame: padding 0-2, dilation, stride on either side (a
width-stride consumer is not fed this way), widths that end in a masked remainder vector,
channel-blocked and by-channel producers (their partial sums go through the framed output),
row multiples that make the consumer's rows longer or shorter than the producer's, and a
conv with two users (not fed this way).
"""

import re

import numpy as np
import pattern_mlir
import pytest
from conv_cases import ConvCase, build_case_conv, make_layer, relative_error, torch_reference
from mlir import ir
from mlir.dialects import func, linalg, tensor
from pattern_mlir.codegen.schedule import schedule_from_fields, schedule_text

# (out_channels, stride, padding, dilation, activation, schedule fields or None)
CHAINS = {
    "remainder_widths": (
        3,
        11,
        21,
        [
            (8, 1, 1, 1, "none", None),
            (8, 1, 1, 1, "relu", None),
            (5, 1, 2, 2, "relu6", None),
        ],
    ),
    "strides": (
        4,
        19,
        19,
        [
            (6, 2, 1, 1, "relu", None),
            (6, 1, 1, 1, "none", None),
            (7, 2, 1, 1, "relu", None),
            (3, 1, 0, 1, "none", None),
        ],
    ),
    "schedules": (
        24,
        10,
        37,
        [
            (24, 1, 1, 1, "relu", "tile_rows = 2, tile_cols = 32, tile_channels = 8, prefetch = 0"),
            (
                16,
                1,
                1,
                1,
                "none",
                (
                    "tile_rows = 3, tile_cols = 16, prefetch = 0, row_align = 4, "
                    "kernel_order = by_channel"
                ),
            ),
            (9, 1, 2, 2, "relu", "tile_rows = 1, tile_cols = 48, row_align = 64"),
            (5, 1, 1, 1, "none", "tile_rows = 4, tile_cols = 16, vector_width = 8, row_align = 1"),
        ],
    ),
}


def _schedule_attr(fields: str) -> ir.Attribute:
    given = dict(part.split(" = ") for part in fields.split(", "))
    return ir.Attribute.parse(schedule_text(schedule_from_fields(given)))


def _chain(channels, height, width, layers, fan_out=False):
    """(module text, torch reference function): the layers one after another. With ``fan_out``
    the last conv's input also feeds a copy of the last conv and the two outputs are added
    (2x the chain's output), so the second-to-last conv has two users."""
    cases, refs = [], []
    c, h, w = channels, height, width
    for i, (o, s, p, d, act, _) in enumerate(layers):
        case = ConvCase(c, o, h, w, s, p, d, 8, 2.0, act, seed=10 + i)
        cases.append(case)
        refs.append(make_layer(case))
        c, h, w = o, (h + 2 * p - 2 * d - 1) // s + 1, (w + 2 * p - 2 * d - 1) // s + 1
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.create()
        in_type = ir.RankedTensorType.get([1, channels, height, width], ir.F32Type.get())
        with ir.InsertionPoint(module.body):

            @func.FuncOp.from_py_func(in_type, name="forward")
            def forward(x):
                y, side = x, None
                for case, (weight, bias, library), layer in zip(cases, refs, layers):
                    if fan_out and case is cases[-1]:
                        side = y
                    y = build_case_conv(y, case, weight, bias, library)
                    if layer[5]:
                        y.owner.attributes["schedule"] = _schedule_attr(layer[5])
                if side is not None:
                    z = build_case_conv(side, cases[-1], *refs[-1])
                    empty = tensor.empty(ir.RankedTensorType(y.type).shape, ir.F32Type.get())
                    y = linalg.add(y, z, outs=[empty])
                return y

        text = str(module)

    def reference(x):
        y = x
        for case, (weight, bias, _) in zip(cases, refs):
            y = torch_reference(case, y, weight, bias)
        return 2 * y if fan_out else y

    return text, reference


def _entries_without_scratch(vector_ir: str) -> int:
    """Conv entries that pad nothing themselves: no scratch buffer for the padded input."""
    entries = re.findall(
        r"func.func private @pattern_conv_\d+_entry\((.*?)\n  }", vector_ir, re.DOTALL
    )
    return sum("memref.alloc" not in body for body in entries)


def _check(name, target="host", threads=1, fan_out=False):
    channels, height, width, layers = CHAINS[name]
    text, reference = _chain(channels, height, width, layers, fan_out)
    options = pattern_mlir.CompileOptions(num_threads=threads)
    exe = pattern_mlir.compile_str(text, target, options)
    # Every stride-1 conv fed only by a conv reads the producer's buffer: no padding copy.
    fed = sum(1 for layer in layers[1:] if layer[1] == 1) - fan_out
    assert _entries_without_scratch(exe.ir("vector")) == fed
    x = np.random.default_rng(0).standard_normal((1, channels, height, width)).astype(np.float32)
    assert relative_error(exe(x).numpy(), reference(x)) <= 1e-4


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chain_matches_torch(name):
    _check(name)


def test_chain_two_threads_matches_torch():
    _check("schedules", threads=2)


def test_fan_out_is_not_fed_and_matches_torch():
    _check("remainder_widths", fan_out=True)


def test_chain_arm64_matches_torch():
    _check("strides", target="arm64-neon")
