"""Weights beside the IR: compile_str(resources=...), missing blobs, the import's weight file."""

from __future__ import annotations

import numpy as np
import pattern_mlir
import pytest
from pattern_mlir.frontend.weight_files import read_arrays, resource_name, write_arrays

# y = x + w, w a dense_resource constant whose data the text leaves out.
ADD = """
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @forward(%x: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %w = arith.constant dense_resource<weights> : tensor<3x5xf32>
  %e = tensor.empty() : tensor<3x5xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %w : tensor<3x5xf32>, tensor<3x5xf32>) outs(%e : tensor<3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<3x5xf32>
  return %y : tensor<3x5xf32>
}
"""
OPTIONS = pattern_mlir.CompileOptions(num_threads=1)


def test_resources_give_elided_blobs_their_data():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 5)).astype(np.float32)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    exe = pattern_mlir.compile_str(ADD, "host", OPTIONS, resources={"weights": w})
    np.testing.assert_allclose(exe(x).numpy(), x + w, rtol=1e-6)
    # Stage IR is for reading: handles, never the blobs' hex.
    assert "dense_resource<weights" in exe.ir("linalg") and "dialect_resources" not in exe.ir(
        "linalg"
    )


def test_missing_blob_is_an_error_naming_the_constant():
    with pytest.raises(
        pattern_mlir.CompileError, match=r"stage 'parse'.*dense_resource<weights> has no data"
    ):
        pattern_mlir.compile_str(ADD, "host", OPTIONS)


def test_resource_of_the_wrong_shape_is_an_error():
    with pytest.raises(
        pattern_mlir.CompileError, match=r"resource 'weights' is float32\[5, 3\].*tensor<3x5xf32>"
    ):
        pattern_mlir.compile_str(
            ADD, "host", OPTIONS, resources={"weights": np.zeros((5, 3), np.float32)}
        )


def test_weight_file_round_trip(tmp_path):
    arrays = {
        "a": np.arange(7, dtype=np.float32),
        "b.c_1": np.ones((2, 3, 3), np.float32) * 2,
        "i": np.arange(3, dtype=np.int64),
    }
    write_arrays(tmp_path / "w", arrays)
    back = read_arrays(tmp_path / "w")
    assert list(back) == list(arrays)
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype and np.array_equal(back[name], array)
        assert back[name].ctypes.data % 64 == 0 and not back[name].flags.writeable


def test_resource_name_reads_the_handle():
    assert (
        resource_name("dense_resource<torch_tensor_4_torch.float32_1> : tensor<4xf32>")
        == "torch_tensor_4_torch.float32_1"
    )
    assert resource_name("dense<1.0> : tensor<4xf32>") is None


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
def test_a_bool_buffer_imported_as_bytes_is_read(target):
    """torch-mlir imports a bool tensor (an attention mask) as an i8 dense_resource; the
    compiler reads it (constants._NUMPY_TYPES) and folds its conversion to i1 into a
    constant (constants.elements_attr packs i1 bits)."""
    import torch
    import torch.nn.functional as F

    class MaskedAttention(torch.nn.Module):
        def __init__(self):
            super().__init__()
            mask = torch.rand(7, 5, generator=torch.Generator().manual_seed(0)) < 0.6
            mask[:, 0] = True  # every query sees a key
            self.register_buffer("mask", mask)
            self.q = torch.nn.Linear(4, 4)

        def forward(self, x, y):
            return F.scaled_dot_product_attention(self.q(x), y, y, attn_mask=self.mask)

    torch.manual_seed(0)
    model, x, y = MaskedAttention().eval(), torch.randn(2, 3, 7, 4), torch.randn(2, 3, 5, 4)
    exe = pattern_mlir.compile(model, (x, y), target=target, options=OPTIONS)
    with torch.inference_mode():
        want = model(x, y)
    got = exe(x, y)
    assert float((got - want).abs().max() / want.abs().max()) <= 1e-5
