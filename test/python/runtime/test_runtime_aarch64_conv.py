"""The generated pattern conv (codegen, target arm64-neon) runs under qemu and matches numpy.

An integration check between the CPU emitter and this runtime: the emitted function carries
``llvm.emit_c_interface``, its static memref types become the call's signature, and its hot loop
is the one llvm-mca reports on.
"""

from __future__ import annotations

import numpy as np
from aarch64_testlib import lower_to_llvm_dialect, needs_cross
from pattern_mlir.codegen import ConvGeometry, emit_conv, pack, pad_input_into, plan_conv
from pattern_mlir.codegen.synthetic import random_layer, random_library
from pattern_mlir.runtime.aarch64 import (
    Aarch64Module,
    compile_aarch64,
    count_fmla,
    signature_from_mlir,
)
from pattern_mlir.runtime.llvm_ir import translate_to_llvm_ir
from pattern_mlir.runtime.mca import analyze_hot_loop

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
