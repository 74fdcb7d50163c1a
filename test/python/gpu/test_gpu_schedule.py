"""A #pattern.schedule on a packed conv sets the GPU kernel's tiling; bad ones are refused."""

from __future__ import annotations

import numpy as np
import pytest
from gpu_testlib import ConvCase, conv_module, make_layer, reference, relative_error
from pattern_mlir.codegen.schedule import Schedule
from pattern_mlir.gpu import GpuLoweringError, compile_for_vulkan, compile_to_spirv

CASE = ConvCase(1, 24, 13, 21, 20, 1, (1, 1, 1, 1), 1, 8, 2.0, "relu")


def _gpu(**fields) -> Schedule:
    return Schedule(vector_width=4, prefetch=0, **fields)


@pytest.mark.parametrize(
    "schedule, workgroup, shared",
    [
        # 2 x 4 invocations (8 columns x 4 rows), groups of 4 filters, direct reads; the
        # free invocations become 8 filter lanes.
        (_gpu(tile_rows=4, tile_cols=8, tile_filters=4, unroll=1), (2, 4, 8), 0),
        # 6 x 13 invocations cover the whole output; 8 channels staged per block (3 blocks),
        # rows of 26 floats padded to 28 (whole vec4s).
        (
            _gpu(tile_rows=16, tile_cols=24, tile_filters=8, tile_channels=8, unroll=4),
            (6, 13, 1),
            4 * 8 * 15 * 28,
        ),
    ],
)
def test_schedule_sets_the_tiling_and_matches_torch(schedule, workgroup, shared, device):
    rng = np.random.default_rng(0)
    weights, library, assignment, bias = make_layer(CASE, rng)
    text = conv_module(CASE, weights, library, assignment, bias, schedule)
    x = rng.standard_normal((1, CASE.cin, CASE.h, CASE.w)).astype(np.float32)
    with compile_for_vulkan(text, device=device) as exe:
        (kernel,) = exe.kernels
        assert kernel.workgroup_size == workgroup
        assert kernel.shared_memory_bytes == shared
        (y,) = exe(x)
    assert relative_error(y, reference(CASE, x, weights, bias)) <= 1e-4


@pytest.mark.parametrize(
    "schedule, message",
    [
        (Schedule(tile_rows=4, tile_cols=64), "vector_width must be 4, got 16"),
        (_gpu(tile_rows=4, tile_cols=8, loop_order="filters_outer"), "loop_order has no meaning"),
        (_gpu(tile_rows=4, tile_cols=8, row_align=8), "row_align has no meaning"),
        (_gpu(tile_rows=4, tile_cols=8, kernel_order="by_channel"), "kernel_order has no meaning"),
        (_gpu(tile_rows=13, tile_cols=24, tile_channels=24), "over the 32768 a workgroup has"),
    ],
)
def test_schedules_the_kernel_cannot_run_are_refused_with_the_op(schedule, message):
    rng = np.random.default_rng(0)
    big = ConvCase(1, 24, 40, 84, 8, 1, (1, 1, 1, 1), 1, 8, 2.0)
    text = conv_module(big, *make_layer(big, rng), schedule)
    with pytest.raises(GpuLoweringError, match=f"pattern.packed_conv2d at loc.*{message}"):
        compile_to_spirv(text)
