"""The generated pattern conv (codegen, target arm64-neon) runs under qemu and matches numpy.

An integration check between the CPU emitter and this runtime: the emitted function carries
``llvm.emit_c_interface``, its static memref types become the call's signature, and its hot loop
is the one llvm-mca reports on.
"""

from __future__ import annotations

import re

import numpy as np
from aarch64_testlib import lower_to_llvm_dialect, needs_cross
from pattern_mlir.backend.aarch64_build import compile_aarch64, count_fmla
from pattern_mlir.backend.llvm_ir import translate_to_llvm_ir
from pattern_mlir.backend.mca import analyze_hot_loop
from pattern_mlir.codegen import ConvGeometry, emit_conv, pack, pad_input_into, plan_conv
from pattern_mlir.codegen.synthetic import random_layer, random_library
from pattern_mlir.runtime.aarch64 import Aarch64Module, signature_from_mlir

pytestmark = needs_cross


def reference_conv(x, w, bias):
    """Dense 3x3 conv, stride 1, padding 1, of x (C, H, W) with w (O, C, 3, 3)."""
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))
    return np.einsum("chwkl,ockl->ohw", windows, w) + bias[:, None, None]


def test_pattern_conv_on_qemu(tmp_path):
    rng = np.random.default_rng(1)
    c, o, h, w = 8, 8, 10, 10
    library = random_library(4, rng)
    weights, assignment = random_layer(o, c, library, 2.0, rng)
    bias = rng.standard_normal(o).astype(np.float32)
    geometry = ConvGeometry.make(c, o, h, w, padding=1)
    plan = plan_conv(geometry, library, target="arm64-neon")
    text = emit_conv(plan)

    art = compile_aarch64(translate_to_llvm_ir(lower_to_llvm_dialect(text)), tmp_path / "b")
    assert count_fmla(art.asm) > 0
    name = plan.func_name
    module = Aarch64Module(art.so_path, signatures={name: signature_from_mlir(text, name)})

    x = rng.standard_normal((c, h, w)).astype(np.float32)
    padded = np.zeros(plan.input_shape, np.float32)
    pad_input_into(x, geometry, padded)
    p = pack(weights, library, assignment)
    out = np.zeros(plan.output_shape, np.float32)
    args = [padded, p.filter_order, p.offsets, p.channels, p.weights, bias, out, 0, o]
    (y,) = module.call(name, args, outputs=[6])
    np.testing.assert_allclose(y, reference_conv(x, weights, bias), rtol=1e-4, atol=1e-4)

    report = analyze_hot_loop(art.asm, function=name).reports["neoverse-n1"]
    assert report.fmla_4s > 0 and 0 < report.fraction_of_bound <= 1


def test_hot_loop_loads_need_no_address_arithmetic(tmp_path):
    """Each input row of the NEON register block gets its own base register, so every load of
    the hot loop is a one-uop ldur/ldp with a short offset and no load needs an address add.
    LLVM would otherwise fold the rows into one base plus offsets past ldur's 256 bytes."""
    rng = np.random.default_rng(3)
    c, o, h, w = 32, 8, 28, 28
    library = random_library(8, rng)
    geometry = ConvGeometry.make(c, o, h, w, padding=1)
    plan = plan_conv(geometry, library, target="arm64-neon")
    schedule = plan.schedule
    assert (schedule.tile_rows, schedule.tile_cols) == (5, 16)  # 5 rows x 4 vectors of NEON
    art = compile_aarch64(
        translate_to_llvm_ir(lower_to_llvm_dialect(emit_conv(plan))), tmp_path / "b"
    )
    analysis = analyze_hot_loop(art.asm, function=plan.func_name)
    lines = analysis.loop.instructions
    loads = [
        ln
        for ln in lines
        if ln.split()[0] in ("ldr", "ldur", "ldp") and ln.split()[1].startswith("q")
    ]
    offsets = [int(m) for ln in loads for m in re.findall(r"#(-?\d+)\]", ln)]
    assert loads and all(-256 <= off < 256 for off in offsets), loads
    address_adds = [ln for ln in lines if ln.startswith("add") and "lsl" not in ln]
    assert not address_adds, address_adds
    # One base per input row the block reads (rows + 2 at stride 1), not one per load.
    row_bases = [ln for ln in lines if ln.startswith("add") and "lsl" in ln]
    assert len(row_bases) <= schedule.tile_rows + 2, row_bases
    assert analysis.reports["neoverse-n1"].fraction_of_bound >= 0.7
