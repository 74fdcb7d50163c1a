"""Emitted MLIR: parses and verifies with upstream dialects, and has the promised structure."""

from __future__ import annotations

import dataclasses
import functools
import re

import numpy as np
import pytest
from pattern_mlir.codegen import ConvGeometry, Schedule, default_schedule, emit_conv, plan_conv
from pattern_mlir.codegen.synthetic import random_library

mlir_ir = pytest.importorskip("mlir.ir")


def _parse(text):
    with mlir_ir.Context(), mlir_ir.Location.unknown():
        m = mlir_ir.Module.parse(text)
        assert m.operation.verify()
        return str(m)


def test_signature_and_structure():
    lib = random_library(8, np.random.default_rng(0))
    g = ConvGeometry.make(256, 128, 56, 56, 1, 1)
    plan = plan_conv(g, lib, Schedule(tile_rows=4, tile_cols=64))
    text = emit_conv(plan)
    _parse(text)
    sig = (
        "func.func @pattern_conv(%input: memref<256x58x64xf32>, %filter_order: memref<128xi32>, "
        "%offsets: memref<1025xi32>, %channels: memref<?xi32>, %weights: memref<?x4xf32>, "
        "%bias: memref<128xf32>, %output: memref<128x56x56xf32>, %f_begin: index, %f_end: index)"
    )
    assert sig in text
    assert plan.input_shape == (256, 58, 64)
    # Row tiles of 4 cover 56 rows exactly: one block shape, 8 pattern loops with 16 accumulators
    # (4 rows x (3 x vector<16xf32> + 1 x vector<8xf32>)).
    assert len(re.findall(r"= scf\.for .* iter_args", text)) == 8
    assert len(re.findall(r":16 = scf\.for", text)) == 8
    assert "vector<8xf32>" in text and "maskedstore" not in text
    assert "memref.prefetch" in text
    assert not re.search(r"\blinalg\.|\baffine\.", text)


def test_channel_blocking_signature():
    lib = random_library(8, np.random.default_rng(0))
    plan = plan_conv(ConvGeometry.make(100, 8, 12, 20, 1, 1), lib, Schedule(tile_channels=32))
    text = emit_conv(plan)
    _parse(text)
    assert plan.channel_blocks == 4
    assert "%offsets: memref<65xi32>, %channel_splits: memref<64x5xi32>, %channels" in text
    assert plan.arg_names[3] == "channel_splits"


def test_remainder_vector_is_masked():
    lib = random_library(4, np.random.default_rng(1))
    plan = plan_conv(ConvGeometry.make(3, 2, 9, 27, 1, 1), lib, Schedule(tile_rows=2, tile_cols=32))
    text = emit_conv(plan)
    _parse(text)
    # 27 = 16 + 11: the remainder is a vector<16xf32> over zero padding, stored under a mask of 11.
    assert "vector.constant_mask [11] : vector<16xi1>" in text
    assert plan.covered_cols == 32


def test_stride_and_dilation_layout():
    lib = random_library(8, np.random.default_rng(2))
    g = ConvGeometry.make(5, 3, 20, 33, stride=(2, 3), padding=1, dilation=2)
    plan = plan_conv(g, lib, target="x86-64-v4")
    _parse(emit_conv(plan))
    cs, hp, wq = plan.input_shape
    assert cs == 5 * 3 and hp == 22 and wq % 16 == 0
    # Rows of (covered + 1) floats, rounded up to the schedule's row_align.
    narrow = plan_conv(g, lib, dataclasses.replace(plan.schedule, row_align=4))
    assert narrow.input_shape == (cs, hp, -(-(plan.covered_cols + 1) // 4) * 4) != plan.input_shape


def test_neon_default_schedule():
    s = default_schedule(56, 56, "arm64-neon")
    assert s.vector_width == 4 and s.tile_rows * (s.tile_cols // 4) <= 20
    with pytest.raises(ValueError, match="unknown target"):
        default_schedule(8, 8, "x86-sse")


@pytest.mark.parametrize(
    "width, rows, cols", [(224, 2, 40), (112, 2, 40), (56, 2, 32), (28, 2, 32), (14, 4, 16)]
)
def test_avx2_wide_rows_run_two_at_a_time(width, rows, cols):
    """16 ymm: rows of 3+ vectors keep 10 accumulators, in blocks of equal width of at most
    5 vectors (docs/targets.md); rows of one or two vectors keep 8."""
    s = default_schedule(width, width, "x86-64-v3", in_channels=64, tuned_rules=False)
    assert (s.tile_rows, s.tile_cols, s.vector_width) == (rows, cols, 8)


def test_default_schedule_applies_the_tuned_rules():
    # The rules as measured with AVX-512 (32 zmm, 16 lanes), whatever this host runs.
    v4 = functools.partial(default_schedule, target="x86-64-v4")
    # 7x7 at stride 1 (ResNet-50 stage 5): one register block, no channel blocks, prefetch.
    base = v4(7, 7, in_channels=512, tuned_rules=False)
    tiny = v4(7, 7, in_channels=512)
    assert base.tile_channels and (tiny.tile_channels, tiny.prefetch) == (0, 2)
    # ... at stride 2 filters outermost on Intel; AMD keeps a channel block (of 16) and runs
    # kernels in channel order, rows of 4-float multiples.
    tiny_s2 = {
        v: v4(7, 7, in_channels=512, stride=2, vendor=v) for v in ("GenuineIntel", "AuthenticAMD")
    }
    assert (tiny_s2["GenuineIntel"].loop_order, tiny_s2["GenuineIntel"].tile_channels) == (
        "filters_outer",
        0,
    )
    amd_tiny = tiny_s2["AuthenticAMD"]
    assert (amd_tiny.kernel_order, amd_tiny.tile_channels, amd_tiny.row_align) == (
        "by_channel",
        16,
        4,
    )
    # AMD, stride 2: kernels in channel order, 16-channel blocks; Intel keeps pattern loops.
    amd_s2 = v4(28, 28, in_channels=256, stride=2, vendor="AuthenticAMD")
    assert (amd_s2.kernel_order, amd_s2.tile_channels, amd_s2.prefetch) == ("by_channel", 16, 0)
    intel_s2 = v4(28, 28, in_channels=256, stride=2, vendor="GenuineIntel")
    assert intel_s2.kernel_order == "by_pattern"
    # Stride 2 at 56x56: half the rows per block.
    assert v4(56, 56, in_channels=128, stride=2).tile_rows == -(
        -v4(56, 56, in_channels=128, tuned_rules=False).tile_rows // 2
    )
    # A layer planned without a schedule gets the stride-aware default.
    g = ConvGeometry.make(128, 128, 112, 112, stride=(2, 2), padding=1)
    lib = random_library(8, np.random.default_rng(0))
    assert plan_conv(g, lib, target="x86-64-v4").schedule == v4(56, 56, in_channels=128, stride=2)
    # AMD, stride 1: no channel blocks, prefetch, one row more for rows of >= 4 vectors;
    # Intel keeps the blocks. Stride 2 keeps them on both.
    intel = v4(56, 56, in_channels=256, vendor="GenuineIntel")
    amd = v4(56, 56, in_channels=256, vendor="AuthenticAMD")
    assert intel.tile_channels and (intel.tile_rows, intel.prefetch) == (4, 0)
    assert (amd.tile_channels, amd.tile_rows, amd.prefetch) == (0, 5, 2)
    amd_28 = v4(28, 28, in_channels=512, vendor="AuthenticAMD")
    assert (amd_28.tile_channels, amd_28.tile_rows, amd_28.vector_width) == (0, 7, 16)
    # Zen 4 (family 25): rows of two 16-lane vectors become four 8-lane ones, 4 rows.
    zen4_28 = v4(28, 28, in_channels=512, vendor="AuthenticAMD", family=25)
    assert zen4_28 == dataclasses.replace(amd_28, tile_rows=4, vector_width=8)
    for other in ((56, 56, 1, 25), (14, 14, 1, 25), (28, 28, 2, 25), (28, 28, 1, 26)):
        h, w, stride, family = other
        kw = {"in_channels": 512, "stride": stride, "vendor": "AuthenticAMD"}
        assert v4(h, w, family=family, **kw).vector_width == 16, other
    for vendor in ("GenuineIntel", "AuthenticAMD"):
        assert v4(28, 28, in_channels=256, stride=2, vendor=vendor).tile_channels
    # AMD, stride 1: input rows padded to 8 floats; stride 2 and Intel keep 16.
    assert v4(14, 14, in_channels=256, vendor="AuthenticAMD").row_align == 8
    for kw in ({"vendor": "AuthenticAMD", "stride": 2}, {"vendor": "GenuineIntel"}):
        assert v4(14, 14, in_channels=256, **kw).row_align == 16, kw
    # The rules were measured on the host only.
    assert default_schedule(7, 7, "arm64-neon", 512) == default_schedule(
        7, 7, "arm64-neon", 512, tuned_rules=False
    )


@pytest.mark.parametrize(
    "kw",
    [
        {"tile_cols": 24},
        {"vector_width": 12},
        {"loop_order": "zigzag"},
        {"tile_rows": 0},
        {"tile_filters": 0},
        {"tile_filters": 33},
        {"row_align": 12},
        {"kernel_order": "by_row"},
        {"kernel_order": "by_channel"},  # with the default prefetch 2
        {"kernel_order": "by_channel", "prefetch": 0, "tile_filters": 2},
        {"kernel_order": "by_channel", "prefetch": 0, "unroll": 2},
        {"row_align": 0},
        {"row_align": 128},
    ],
)
def test_bad_schedule(kw):
    with pytest.raises(ValueError):
        Schedule(**kw)
