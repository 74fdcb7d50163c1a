"""Large constants leave the LLVM IR and come back, byte for byte, from an .incbin object."""

import numpy as np
from mlir import ir
from pattern_mlir.backend.weight_blob import assemble_blob, externalize_constants
from pattern_mlir.runtime.toolchain import run_tool

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
    assert (
        "@small(dense<[1.000000e+00, 2.000000e+00]>" in text
        and "@splat(dense<3.000000e+00>" in text
    )

    obj = assemble_blob(moved, tmp_path, "aarch64-linux-gnu-gcc")
    symbols = run_tool("aarch64-linux-gnu-nm", [obj]).stdout
    assert " R big" in symbols
    assert (tmp_path / "weights.bin").read_bytes() == values.tobytes()


JIT_MODULE = """
memref.global "private" constant @table : memref<2048xf32> = dense<[{values}]> {{alignment = 64 : i64}}
func.func @read(%out: memref<2048xf32>) attributes {{llvm.emit_c_interface}} {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 2048 : index
  %t = memref.get_global @table : memref<2048xf32>
  scf.for %i = %c0 to %n step %c1 {{
    %v = memref.load %t[%i] : memref<2048xf32>
    memref.store %v, %out[%i] : memref<2048xf32>
  }}
  return
}}
"""


def test_jit_reads_bound_constants_from_memory_even_misaligned():
    """The host JIT path: the constant leaves the module, the engine reads the bytes given."""
    import ctypes

    from mlir import passmanager
    from mlir.execution_engine import ExecutionEngine
    from pattern_mlir.backend.host_jit import LOWERING_PIPELINE
    from pattern_mlir.backend.weight_blob import ExternalConstant, bind_constants

    values = np.arange(2048, dtype=np.float32) * 0.25 - 7
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(JIT_MODULE.format(values=", ".join(map(str, values))))
        passmanager.PassManager.parse(LOWERING_PIPELINE).run(module.operation)
        moved = externalize_constants(module)
        assert [c.symbol for c in moved] == ["table"] and "dense<" not in str(module)
        # Hand the engine other bytes, one byte off a cache line: it must read these, aligned.
        spare = np.zeros(2048 * 4 + 65, np.uint8)
        start = 1 + (-spare.ctypes.data) % 64
        shifted = spare[start : start + 2048 * 4]
        shifted[...] = (values * 2).view(np.uint8)
        engine = ExecutionEngine(module, opt_level=2)
        bound = bind_constants(engine, [ExternalConstant("table", shifted, 64)])
        assert bound[0].ctypes.data % 64 == 0 and bound[0] is not shifted
        out = np.zeros(2048, np.float32)
        values_block = (ctypes.c_int64 * 5)(out.ctypes.data, out.ctypes.data, 0, 2048, 1)
        pointers = (ctypes.c_void_p * 5)(
            *(ctypes.addressof(values_block) + 8 * i for i in range(5))
        )
        ctypes.CFUNCTYPE(None, ctypes.c_void_p)(engine.raw_lookup("read"))(pointers)
    assert np.array_equal(out, values * 2)


def test_settle_alignment_declares_what_large_constants_have(monkeypatch):
    """Constants past `_COPY_BYTES` are declared with the alignment their bytes have (no
    second copy of a large weight); smaller ones keep the 64 bytes their vector loads want,
    and binding copies them there."""
    from pattern_mlir.backend import weight_blob
    from pattern_mlir.backend.weight_blob import ExternalConstant, settle_alignment
    from pattern_mlir.runtime.buffers import aligned_empty

    values = np.arange(2048, dtype=np.float32)
    with ir.Context():
        module = ir.Module.parse(MODULE.format(values=", ".join(map(str, values))))
        (moved,) = externalize_constants(module)
        spare = aligned_empty(2048 * 4 + 16, np.uint8)
        off_line = ExternalConstant(
            "big", spare[16 : 16 + 2048 * 4], 64
        )  # 16 bytes past a cache line
        (small,) = settle_alignment(module, [off_line])
        assert small.alignment == 64 and "alignment = 16" not in str(module)
        monkeypatch.setattr(weight_blob, "_COPY_BYTES", 4096)
        (settled,) = settle_alignment(module, [off_line])
        assert settled.alignment == 16 and "alignment = 16" in str(module)
        (kept,) = settle_alignment(module, [ExternalConstant("big", spare[: 2048 * 4], 16)])
        assert kept.alignment == 16  # never raised above what was asked
    assert moved.alignment == 64
