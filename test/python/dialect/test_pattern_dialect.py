"""The pattern dialect from Python: parse, walk, build, verify, and errors."""

import subprocess

import numpy as np
import pattern_mlir
import pytest
import torch
from mlir import ir
from mlir.dialects import func
from pattern_mlir.dialects import builders
from pattern_mlir.dialects import pattern as pattern_ops

pattern_mlir.register_dialect()  # the tests parse pattern IR in fresh contexts

LIB = np.zeros((2, 3, 3), bool)
LIB[0].flat[[1, 3, 4, 5]] = True
LIB[1].flat[[1, 4, 5, 7]] = True

CONV_TEXT = """
func.func @f(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>
         assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <relu>
         : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}
"""


def conforming_weight(out_channels, in_channels, seed=0):
    """A random OIHW weight whose kernels follow LIB, with some kernels removed."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(-1, len(LIB), size=(out_channels, in_channels))
    weight = rng.standard_normal((out_channels, in_channels, 3, 3)).astype(np.float32)
    weight *= np.where(ids[..., None, None] >= 0, LIB[np.maximum(ids, 0)], False)
    return weight, ids


def test_parse_walk_and_opview():
    with ir.Context():
        module = ir.Module.parse(CONV_TEXT)
        convs = []

        def collect(op):
            if op.name == "pattern.conv2d":
                convs.append(op.opview)
            return ir.WalkResult.ADVANCE

        module.operation.walk(collect)
        assert len(convs) == 1
        conv = convs[0]
        assert isinstance(conv, pattern_ops.Conv2DOp)
        assert list(conv.assignment) == [0, -1, 1, 0]
        assert list(conv.padding) == [1, 1, 1, 1]
        np.testing.assert_array_equal(builders.library_masks(conv.library), LIB)
        assert str(conv.activation) == "#pattern.activation<relu>"


def test_library_attr_round_trip_through_masks():
    with ir.Context():
        attr = builders.library_attr(LIB)
        assert str(attr) == "#pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>"
        np.testing.assert_array_equal(builders.library_masks(attr), LIB)


def test_library_attr_rejects_invalid_library_with_diagnostic():
    bad = LIB.copy()
    bad[1] = bad[0]
    with ir.Context(), pytest.raises(ir.MLIRError, match="pattern 1 duplicates pattern 0"):
        builders.library_attr(bad)


def test_invalid_ir_raises_with_diagnostic():
    text = CONV_TEXT.replace("[0, -1, 1, 0]", "[0, -1, 7, 0]")
    with ir.Context(), pytest.raises(ir.MLIRError) as info:
        ir.Module.parse(text)
    assert "assignment[2] = 7 (output channel 1, input channel 0)" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        "func.func @f(",
        '"pattern.conv2d"() : () -> ()',
        "#pattern.library<3x3, [[1, 4, 5, 7]",
        "func.func @f() attributes {a = #pattern.library<99999999999999999999x3, [[4]]>} { return }",
        "func.func @f() attributes {a = #pattern.schedule<tile_rows = 1>} { return }",
    ],
)
def test_malformed_text_raises_not_crashes(text):
    with ir.Context(), pytest.raises(ir.MLIRError):
        ir.Module.parse(text)


def _build_module(weight, bias=None, **kwargs):
    module = ir.Module.create()
    f32 = ir.F32Type.get()
    in_type = ir.RankedTensorType.get([1, weight.shape[1], 9, 7], f32)
    with ir.InsertionPoint(module.body):

        @func.FuncOp.from_py_func(in_type)
        def conv(x):
            return builders.build_conv2d(x, weight, LIB, bias=bias, **kwargs)

    return module


def test_build_conv2d_from_torch_weight_verifies_and_round_trips(tmp_path, pattern_opt):
    weight, ids = conforming_weight(3, 5)
    with ir.Context(), ir.Location.unknown():
        module = _build_module(
            torch.from_numpy(weight), bias=torch.ones(3), stride=2, padding=1, activation="relu6"
        )
        assert module.operation.verify()
        conv = [
            op
            for op in module.body.operations[0].regions[0].blocks[0].operations
            if op.name == "pattern.conv2d"
        ][0]
        np.testing.assert_array_equal(
            np.array(list(conv.opview.assignment)).reshape(3, 5), ids.clip(min=-1)
        )
        weights_const = conv.operands[1].owner.opview
        rows = np.array(weights_const.value)
        assert rows.shape == ((ids >= 0).sum(), 4)
        # The kept rows are exactly the non-zero taps in assignment order.
        expected = [
            weight[o, i].reshape(-1)[LIB[ids[o, i]].reshape(-1)]
            for o in range(3)
            for i in range(5)
            if ids[o, i] >= 0
        ]
        np.testing.assert_array_equal(rows, np.array(expected))
        text = str(module)
    path = tmp_path / "built.mlir"
    path.write_text(text)
    printed = subprocess.run([pattern_opt, str(path)], check=True, capture_output=True, text=True)
    assert "pattern.conv2d" in printed.stdout and "activation <relu6>" in printed.stdout


def test_build_conv2d_rejects_nonconforming_weight_naming_kernel():
    weight, ids = conforming_weight(2, 2, seed=1)
    o, i = np.argwhere(ids >= 0)[0]
    weight[o, i, 0, 0] = 1.0  # tap 0 is in no pattern of LIB
    with ir.Context(), ir.Location.unknown(), pytest.raises(ValueError) as info:
        _build_module(weight)
    assert f"kernel (out={o}, in={i}) keeps taps" in str(info.value)


def test_build_conv2d_rejects_nan_weight():
    weight, _ = conforming_weight(2, 2)
    weight[1, 0, 1, 1] = np.nan
    with (
        ir.Context(),
        ir.Location.unknown(),
        pytest.raises(ValueError, match=r"\(out=1, in=0\) holds NaN"),
    ):
        _build_module(weight)


def test_translate_and_serialize_reject_wrong_input():
    from pattern_mlir._mlir_libs import _patternDialects

    with ir.Context():
        module = ir.Module.parse("func.func @f() { return }")
        with pytest.raises(RuntimeError, match="SPIR-V serialisation failed"):
            _patternDialects.serialize_spirv(module.operation)
        llvm = ir.Module.parse("llvm.func @g() { llvm.return }")
        assert "define void @g()" in _patternDialects.translate_to_llvm_ir(llvm.operation)
