"""Large constants leave the LLVM IR and come back, byte for byte, from an .incbin object."""

import numpy as np
from mlir import ir
from pattern_mlir.runtime.toolchain import run_tool
from pattern_mlir.runtime.weight_blob import assemble_blob, externalize_constants

MODULE = """
llvm.mlir.global private constant @big(dense<[{values}]> : tensor<2048xf32>) {{addr_space = 0 : i32, alignment = 64 : i64}} : !llvm.array<2048 x f32>
llvm.mlir.global private constant @small(dense<[1.0, 2.0]> : tensor<2xf32>) {{addr_space = 0 : i32}} : !llvm.array<2 x f32>
llvm.mlir.global private constant @splat(dense<3.0> : tensor<4096xf32>) {{addr_space = 0 : i32}} : !llvm.array<4096 x f32>
"""


def test_only_large_non_splat_constants_move(tmp_path):
    values = np.arange(2048, dtype=np.float32) * 0.5
    with ir.Context():
        module = ir.Module.parse(MODULE.format(values=", ".join(map(str, values))))
        moved = externalize_constants(module)
        text = str(module)
    assert [c.symbol for c in moved] == ["big"]
    assert np.array_equal(np.frombuffer(moved[0].data, np.float32), values)
    assert "llvm.mlir.global external constant @big()" in text
    assert "@small(dense<[1.000000e+00, 2.000000e+00]>" in text and "@splat(dense<3.000000e+00>" in text

    obj = assemble_blob(moved, tmp_path, "aarch64-linux-gnu-gcc")
    symbols = run_tool("aarch64-linux-gnu-nm", [obj]).stdout
    assert " R big" in symbols
    assert (tmp_path / "weights.bin").read_bytes() == values.tobytes()
