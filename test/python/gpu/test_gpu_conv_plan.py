"""The pattern-conv kernel's structure: balanced filter groups, one loop per pattern,
vec4 where aligned, staging within the shared-memory budget."""

from __future__ import annotations

import itertools
import re

import numpy as np
from gpu_testlib import ConvCase, conv_module, make_layer
from mlir import ir
from pattern_mlir.backend.spirv_tools import ADRENO_640
from pattern_mlir.codegen import fkw
from pattern_mlir.codegen.gpu_conv_kernel import emit_conv_kernel
from pattern_mlir.codegen.gpu_conv_plan import SHARED_BUDGET_BYTES, GpuConvGeometry, make_plan
from pattern_mlir.gpu.pattern_lowering import lower_pattern_convs


def _geometry(case: ConvCase) -> GpuConvGeometry:
    oh, ow = case.out_hw
    return GpuConvGeometry(
        case.n,
        case.cin,
        case.h,
        case.w,
        case.cout,
        oh,
        ow,
        (3, 3),
        (case.stride, case.stride),
        case.padding,
        (case.dilation, case.dilation),
    )


def _lower(case: ConvCase, **options):
    text = conv_module(case, *make_layer(case, np.random.default_rng(0)))
    with ir.Context():
        module = ir.Module.parse(text)
        (kernel,) = lower_pattern_convs(module, ADRENO_640.target_env(), plan_options=options)
        return kernel, str(module)


def test_groups_have_equal_work():
    case = ConvCase(1, 64, 8, 8, 64, 1, (1, 1, 1, 1), 1, 8, 3.0)
    kernel, _ = _lower(case)
    work = kernel.packed.kernels_per_filter() + 1.0
    bounds = kernel.arrays.groups
    per_group = [work[a:b].sum() for a, b in itertools.pairwise(bounds)]
    assert len(per_group) == kernel.plan.groups > 1
    # A boundary moves by at most one filter from the ideal split.
    assert max(per_group) - min(per_group) <= 2 * work.max()


def test_one_specialised_loop_per_pattern():
    case = ConvCase(1, 8, 9, 9, 4, 1, (1, 1, 1, 1), 1, 12, 1.0)
    weights, library, assignment, _ = make_layer(case, np.random.default_rng(1))
    packed = fkw.pack(weights, library, assignment)
    geom = _geometry(case)
    taps = np.stack([np.argwhere(m) for m in library])
    plan = make_plan(geom, taps, packed.num_kernels, staged=True, unroll=1)
    text = emit_conv_kernel("k", geom, plan, library, packed.num_kernels)
    assert len(re.findall(r"scf\.for .* iter_args", text)) == 12
    # Tap offsets are constants: the loop bodies hold no index loads but the channel.
    assert text.count("memref.load %channels") == 12


def test_vec4_inputs_and_outputs_only_when_rows_align():
    _, aligned = _lower(ConvCase(1, 4, 8, 8, 4, 1, (1, 1, 1, 1), 1, 4, 1.0), staged=False)
    _, ragged = _lower(ConvCase(1, 4, 7, 7, 4, 1, (1, 1, 1, 1), 1, 4, 1.0), staged=False)
    # 1x4x8x8 inputs and outputs as 64 vec4s: the first and last kernel arguments.
    assert re.search(r"gpu.func @\w+\(%arg0: memref<64xvector<4xf32>>,", aligned)
    assert "memref<64xvector<4xf32>>) kernel" in aligned
    assert "vector.extract" in aligned
    # 1x4x7x7: rows of 7 floats do not start on vec4s; both stay scalar.
    assert re.search(r"gpu.func @\w+\(%arg0: memref<196xf32>,", ragged)
    assert "memref<196xf32>) kernel" in ragged


def test_staging_fits_the_budget_with_channel_blocks():
    kernel, text = _lower(ConvCase(1, 300, 12, 12, 8, 1, (1, 1, 1, 1), 1, 8, 2.0), staged=True)
    plan = kernel.plan
    assert plan.channel_blocks > 1
    assert plan.shared_bytes <= SHARED_BUDGET_BYTES
    assert text.count("gpu.barrier") == 2
    assert "#spirv.storage_class<Workgroup>" in text
