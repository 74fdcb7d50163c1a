"""llvm-mca estimates of the hot loop, on the neoverse-n1 and cortex-a76 models."""

from __future__ import annotations

import pytest
from pattern_mlir.backend.mca import (
    DEFAULT_MCA_CPUS,
    analyze_hot_loop,
    find_loops,
    hottest_loop,
    run_mca,
)

NESTED = """\
\t.type\tk,@function
k:
\tmov\tx8, xzr
.LBB0_1:                                // =>This Loop Header: Depth=1
\tmov\tx9, xzr
\t.p2align\t5
.LBB0_2:                                // =>This Inner Loop Header: Depth=2
\tldr\tq0, [x0, x9]
\tfmla\tv1.4s, v0.4s, v2.s[1]
\tfmla\tv3.4s, v0.4s, v2.4s
\tadd\tx9, x9, #16
\tcmp\tx9, x2
\tb.lt\t.LBB0_2
\tadd\tx8, x8, #1
\tcbnz\tx8, .LBB0_1
\tret
.Lfunc_end0:
"""


def test_find_loops_nesting():
    loops = {lp.label: lp for lp in find_loops(NESTED)}
    assert set(loops) == {".LBB0_1", ".LBB0_2"}
    outer, inner = loops[".LBB0_1"], loops[".LBB0_2"]
    assert (outer.depth, outer.innermost) == (1, False)
    assert (inner.depth, inner.innermost) == (2, True)
    assert inner.fmla_4s == 2 and outer.fmla_4s == 2
    assert ".p2align" not in inner.body and "//" not in inner.body
    assert inner.instructions[-1].startswith("b.lt")


def test_hottest_loop_is_innermost_fmla_loop():
    assert hottest_loop(NESTED).label == ".LBB0_2"
    with pytest.raises(LookupError, match="no innermost loop contains fmla"):
        hottest_loop(NESTED.replace("fmla", "fadd"))


def test_run_mca_parses():
    inner = hottest_loop(NESTED)
    report = run_mca(inner.body, "neoverse-n1")
    assert report.instructions == 6 and report.fmla_4s == 2
    assert report.block_rthroughput > 0 and report.cycles_per_iteration > 0
    assert report.fma_bound_cycles == 1.0
    assert 0 < report.fraction_of_bound <= 1
    assert "neoverse-n1" in report.summary()


def test_hot_loop_of_compiled_kernel(kernels_artifacts):
    analysis = analyze_hot_loop(kernels_artifacts.asm, function="dot4")
    assert analysis.loop.function == "dot4" and analysis.loop.fmla_4s >= 4
    assert tuple(analysis.reports) == DEFAULT_MCA_CPUS
    n1, a76 = analysis.reports["neoverse-n1"], analysis.reports["cortex-a76"]
    assert n1.fmla_4s == a76.fmla_4s == analysis.loop.fmla_4s
    # The A57-derived cortex-a76 model halves 128-bit FMA throughput: never better than N1.
    assert n1.fraction_of_bound >= a76.fraction_of_bound
    assert "cortex-a76" in analysis.summary()
    numbers = analysis.as_dict()
    assert numbers["function"] == "dot4"
    assert numbers["reports"]["neoverse-n1"]["fmla_4s"] == n1.fmla_4s
