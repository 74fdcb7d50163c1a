"""Pattern attributes read through the C API accessors (`schedule_fields`, `activation_kind`),
and the passes' readers built on them (`conv_info.schedule_from_attr`, `read_conv`)."""

import dataclasses

import pattern_mlir
import pytest
from mlir import ir
from pattern_mlir._mlir_libs import _patternDialects
from pattern_mlir.codegen.schedule import KERNEL_ORDERS, LOOP_ORDERS, Schedule, schedule_text
from pattern_mlir.passes.utils.conv_info import collect_ops, read_conv, schedule_from_attr

pattern_mlir.register_dialect()  # the tests parse pattern IR in fresh contexts

FIELDS = [f.name for f in dataclasses.fields(Schedule)]

# Every field away from its Schedule default, the optional ones included, so a getter that
# reads the wrong parameter cannot match by accident.
ALL_FIELDS = (
    "#pattern.schedule<tile_rows = 3, tile_cols = 40, tile_filters = 1, tile_channels = 24, "
    "vector_width = 8, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 5, "
    "row_align = 4, kernel_order = by_channel>"
)
ALL_FIELDS_VALUES = {
    "tile_rows": 3,
    "tile_cols": 40,
    "tile_filters": 1,
    "tile_channels": 24,
    "vector_width": 8,
    "unroll": 1,
    "prefetch": 0,
    "loop_order": "rows_outer",
    "threads": 5,
    "row_align": 4,
    "kernel_order": "by_channel",
}

REQUIRED_ONLY = (
    "#pattern.schedule<tile_rows = 2, tile_cols = 64, tile_filters = 4, tile_channels = 0, "
    "vector_width = 16, unroll = 3, prefetch = 7, loop_order = filters_outer, threads = 9>"
)

CONV = """
func.func @f(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32> {{
  %w = arith.constant dense<1.0> : tensor<3x4xf32>
  %b = arith.constant dense<0.5> : tensor<2xf32>
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>
         assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]{extra}
         : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}}
"""


def _conv(module: ir.Module) -> ir.Operation:
    (conv,) = collect_ops(module, "pattern.conv2d")
    return conv


def test_schedule_fields_every_field():
    with ir.Context():
        fields = _patternDialects.schedule_fields(ir.Attribute.parse(ALL_FIELDS))
    assert fields == ALL_FIELDS_VALUES
    assert list(fields) == FIELDS  # one key per Schedule field, nothing else
    assert all(type(v) is (str if k.endswith("_order") else int) for k, v in fields.items())


def test_schedule_fields_defaults_of_optional_fields():
    with ir.Context():
        fields = _patternDialects.schedule_fields(ir.Attribute.parse(REQUIRED_ONLY))
    assert fields == {
        "tile_rows": 2,
        "tile_cols": 64,
        "tile_filters": 4,
        "tile_channels": 0,
        "vector_width": 16,
        "unroll": 3,
        "prefetch": 7,
        "loop_order": "filters_outer",
        "threads": 9,
        "row_align": 16,  # the attribute's default, which Schedule shares
        "kernel_order": "by_pattern",
    }


@pytest.mark.parametrize(
    "schedule",
    [
        Schedule(),
        Schedule(**ALL_FIELDS_VALUES),
        Schedule(tile_rows=8, tile_cols=32, vector_width=4, loop_order=LOOP_ORDERS[1]),
        Schedule(row_align=64, kernel_order=KERNEL_ORDERS[0], threads=1024),
    ],
)
def test_schedule_from_attr_round_trips_schedule_text(schedule):
    with ir.Context():
        assert schedule_from_attr(ir.Attribute.parse(schedule_text(schedule))) == schedule
    assert schedule_from_attr(None) is None


@pytest.mark.parametrize("kind", ["none", "relu", "relu6", "clamp"])
def test_activation_kind(kind):
    with ir.Context():
        attr = ir.Attribute.parse(f"#pattern.activation<{kind}>")
        assert _patternDialects.activation_kind(attr) == kind


WRONG_KINDS = [
    "#pattern.library<3x3, [[1, 3, 4, 5]]>",
    "7 : i64",
    '"rows_outer"',
    "unit",
    "[1, 2]",
]


@pytest.mark.parametrize("text", ["#pattern.activation<relu>", *WRONG_KINDS])
def test_schedule_fields_rejects_other_attributes(text):
    with ir.Context():
        attr = ir.Attribute.parse(text)
        with pytest.raises(TypeError, match=r"expected a #pattern\.schedule attribute"):
            _patternDialects.schedule_fields(attr)
        with pytest.raises(TypeError, match=r"expected a #pattern\.schedule attribute"):
            schedule_from_attr(attr)


@pytest.mark.parametrize("text", [REQUIRED_ONLY, *WRONG_KINDS])
def test_activation_kind_rejects_other_attributes(text):
    with ir.Context():
        attr = ir.Attribute.parse(text)
        with pytest.raises(TypeError, match=r"expected a #pattern\.activation attribute"):
            _patternDialects.activation_kind(attr)


@pytest.mark.parametrize("accessor", ["schedule_fields", "activation_kind"])
@pytest.mark.parametrize("value", [None, 3, "#pattern.activation<relu>"])
def test_accessors_reject_non_attributes(accessor, value):
    with pytest.raises(TypeError):
        getattr(_patternDialects, accessor)(value)


@pytest.mark.parametrize("accessor", ["schedule_fields", "activation_kind"])
def test_accessors_reject_other_ir_objects(accessor):
    with ir.Context():
        for value in (ir.Type.parse("f32"), ir.Location.unknown(), ir.Module.parse("")):
            with pytest.raises(TypeError):
                getattr(_patternDialects, accessor)(value)


def test_read_conv_reads_activation_and_schedule():
    with ir.Context():
        module = ir.Module.parse(
            CONV.format(extra=f" activation <relu6> {{schedule = {ALL_FIELDS}}}")
        )
        info = read_conv(_conv(module))
    assert info.activation == "relu6"
    assert info.schedule == Schedule(**ALL_FIELDS_VALUES)


def test_read_conv_without_activation_or_schedule():
    with ir.Context():
        module = ir.Module.parse(CONV.format(extra=""))  # owns the op: keep it alive
        info = read_conv(_conv(module))
    assert info.activation == "none"
    assert info.schedule is None


def test_conv_holds_no_schedule_or_activation_of_another_kind():
    # Why read_conv need not handle another kind: the op keeps `schedule` and `activation` as
    # typed properties, so setting another kind from Python drops the attribute.
    with ir.Context():
        module = ir.Module.parse(CONV.format(extra=""))
        conv = _conv(module)
        conv.attributes["schedule"] = ir.Attribute.parse("7 : i64")
        conv.attributes["activation"] = ir.Attribute.parse('"relu"')
        assert "schedule" not in conv.attributes
        assert "activation" not in conv.attributes
        info = read_conv(conv)
    assert (info.activation, info.schedule) == ("none", None)
