"""The genetic search on synthetic costs: finds the optimum, reuses known costs, stops."""

import math
import random

import pytest
from pattern_mlir.codegen.schedule import Schedule
from pattern_mlir.tuning import ScheduleSpace, evolve

V4 = "x86-64-v4"  # the spaces below are those of AVX-512 (16 lanes, 32 registers), on any host


def _synthetic(optimum: Schedule):
    """A cost with interactions: distance to the optimum's genes plus a register-block term."""
    target = ScheduleSpace.genome(optimum)

    def cost(s: Schedule, bound) -> float:
        g = ScheduleSpace.genome(s)
        c = 1.0
        c += 0.30 * abs(g["tile_rows"] - target["tile_rows"])
        c += (
            0.25
            * abs(g["vectors"] * g["vector_width"] - target["vectors"] * target["vector_width"])
            / 16
        )
        c += 0.20 * abs(math.log2(g["unroll"]) - math.log2(target["unroll"]))
        c += 0.15 * abs(g["prefetch"] - target["prefetch"])
        c += 0.40 * (g["tile_channels"] != target["tile_channels"])
        c += 0.20 * (g["vector_width"] != target["vector_width"])
        c += 0.50 * (g["loop_order"] != target["loop_order"])
        c += 0.10 * abs(math.log2(g["row_align"]) - math.log2(target["row_align"]))
        c += 0.20 * abs(math.log2(g["tile_filters"]) - math.log2(target["tile_filters"]))
        c += 0.30 * (g["kernel_order"] != target["kernel_order"])
        c += 0.10 * (g["tile_rows"] * g["vectors"] > 12)  # "spills"
        return c

    return cost


def test_finds_the_optimum_of_a_small_space():
    # The search starts from the default, which depends on the CPU vendor: fix it.
    space = ScheduleSpace(
        out_height=8, out_width=40, in_channels=40, vendor="GenuineIntel", target=V4
    )
    points = space.all_points()
    optimum = Schedule(
        tile_rows=3,
        tile_cols=32,
        tile_channels=16,
        vector_width=16,
        unroll=2,
        prefetch=1,
        loop_order="rows_outer",
    )
    assert optimum in points
    cost = _synthetic(optimum)
    assert min(points, key=lambda s: cost(s, None)) == optimum
    calls = []
    result = evolve(
        space, lambda s, b: calls.append(s) or cost(s, b), seeds=[space.default()], seed=1
    )
    assert result.best == optimum
    assert result.stopped == "converged"
    assert len(set(calls)) == len(calls), "a schedule was measured twice"
    assert result.measured < len(points) / 20, (result.measured, len(points))


def test_known_costs_are_not_measured_again():
    space = ScheduleSpace(out_height=8, out_width=40, in_channels=40, target=V4)
    optimum = Schedule(tile_rows=4, tile_cols=32, tile_channels=0, vector_width=16)
    cost = _synthetic(optimum)
    first = evolve(space, cost, seeds=[space.default()], max_evaluations=10, seed=0)
    assert first.stopped == "evaluations" and first.measured == 10
    seen = []
    second = evolve(
        space,
        lambda s, b: seen.append(s) or cost(s, b),
        seeds=[space.default()],
        known=first.evaluated,
        seed=0,
    )
    assert not set(seen) & set(first.evaluated)
    assert second.best == optimum


def test_failed_candidates_and_bounds():
    space = ScheduleSpace(out_height=4, out_width=16, in_channels=8)
    bounds = []

    def cost(s, bound):
        bounds.append(bound)
        return None if s.unroll == 4 else float(s.tile_rows + s.prefetch)

    result = evolve(space, cost, seeds=[space.default()], seed=0)
    assert result.best is not None and result.best.unroll != 4
    assert bounds[0] is None and all(b is not None for b in bounds[1:])
    assert all(c is None for s, c in result.evaluated.items() if s.unroll == 4)


def test_budget_stops_the_search():
    space = ScheduleSpace(out_height=56, out_width=56, in_channels=256)
    ticks = iter(range(10**6))
    result = evolve(space, lambda s, b: 1.0, budget_s=5, clock=lambda: next(ticks))
    assert result.stopped == "budget"
    assert result.measured <= 5


def test_space_is_canonical_and_rejects_spills():
    space = ScheduleSpace(out_height=7, out_width=7, in_channels=512)
    for s in space.all_points():
        assert space.canonical(s) == s
        assert s.tile_rows <= 7 and s.tile_cols == s.vector_width
        assert s.tile_rows * (s.tile_cols // s.vector_width) <= space.max_accumulators
    assert space.canonical(Schedule(tile_rows=9, tile_cols=64, vector_width=16)) == Schedule(
        tile_rows=7, tile_cols=16, vector_width=16
    )
    wide = ScheduleSpace(out_height=56, out_width=56, in_channels=64)
    assert wide.canonical(Schedule(tile_rows=8, tile_cols=64, vector_width=16)) is None
    assert wide.canonical(Schedule(tile_rows=2, tile_cols=64, tile_channels=64)).tile_channels == 0


def test_narrower_vectors_are_one_step_away():
    # 7 rows x 2 vectors of 16 at 28x28: half the width doubles the vectors, so the rows must
    # shrink to stay within the accumulators, or the narrower block is never reached.
    space = ScheduleSpace(out_height=28, out_width=28, in_channels=512, target=V4)
    start = Schedule(tile_rows=7, tile_cols=32, vector_width=16)
    narrow = [n for n in space.neighbours(start) if n.vector_width == 8]
    assert narrow == [Schedule(tile_rows=6, tile_cols=32, vector_width=8)]
    rng = random.Random(0)
    mutants = [space.mutate(start, rng) for _ in range(400)]
    assert any(m is not None and m.vector_width == 8 for m in mutants)


def test_search_seeds_are_the_default_and_the_heuristic_alone():
    amd = ScheduleSpace(out_height=56, out_width=56, in_channels=256, vendor="AuthenticAMD")
    rule, heuristic = amd.defaults()
    assert rule.tile_channels == 0 and heuristic.tile_channels > 0
    # Where the rules change nothing there is one seed.
    plain = ScheduleSpace(out_height=56, out_width=56, in_channels=256, vendor="GenuineIntel")
    assert plain.defaults() == [plain.default()]


def test_threads_are_a_gene_only_with_a_thread_budget():
    one = ScheduleSpace(out_height=7, out_width=7, in_channels=64, target=V4)
    assert "threads" not in one.genes() and {s.threads for s in one.all_points()} == {0}
    two = ScheduleSpace(out_height=7, out_width=7, in_channels=64, threads=2, target=V4)
    assert two.genes()["threads"] == (1, 2)
    # The default runs on the whole budget; "0 = all" is the same point as the budget.
    assert two.default().threads == 2
    assert two.canonical(Schedule(tile_rows=7, tile_cols=16, threads=0)).threads == 2
    assert two.canonical(Schedule(tile_rows=7, tile_cols=16, threads=5)).threads == 2
    assert {s.threads for s in two.all_points()} == {1, 2}
    assert Schedule(tile_rows=7, tile_cols=16, threads=1) in two.neighbours(two.default())
    # The search leaves the default's two threads for one where one is faster.
    optimum = Schedule(tile_rows=5, tile_cols=16, unroll=2, prefetch=1, threads=1)
    cost = _synthetic(optimum)

    def cost_with_threads(s, bound):
        return cost(s, bound) + (s.threads != 1) + 0.3 * (s.tile_filters != 1)

    assert evolve(two, cost_with_threads, seeds=[two.default()]).best == optimum
    with pytest.raises(ValueError, match="thread budget"):
        ScheduleSpace(out_height=7, out_width=7, in_channels=64, threads=0)


def test_choose_needs_a_gain_in_both_halves():
    from pattern_mlir.tuning.tuner import choose

    d, a, b = Schedule(), Schedule(unroll=2), Schedule(unroll=4)
    samples = {
        d: [1.0] * 8,
        a: [0.8] * 4 + [1.0] * 4,  # fast in a lucky first half only
        b: [0.9, 0.95, 0.9, 0.92, 0.93, 0.9, 0.91, 0.94],  # 7-10 % in both halves
    }
    best, times = choose(samples, d, 0.03)
    assert best == b and times[d] == 1.0 and 0.9 < times[b] < 0.93
    # The machine slows down between the halves: per-half gains still count.
    drift = {d: [1.0] * 4 + [1.2] * 4, a: [0.95] * 4 + [1.14] * 4}
    assert choose(drift, d, 0.03)[0] == a
    assert choose({d: [1.0] * 8, a: [0.99] * 8}, d, 0.03)[0] == d


def test_row_align_is_a_gene_on_the_host_only():
    host = ScheduleSpace(out_height=7, out_width=7, in_channels=64)
    assert host.genes()["row_align"] == (4, 8, 16)
    assert {s.row_align for s in host.all_points()} == {4, 8, 16}
    assert Schedule(tile_rows=7, tile_cols=16, row_align=8) in host.neighbours(
        Schedule(tile_rows=7, tile_cols=16)
    )
    neon = ScheduleSpace(out_height=7, out_width=7, in_channels=64, target="arm64-neon")
    assert {s.row_align for s in neon.all_points()} == {16}


def test_kernel_order_is_a_gene_on_the_host_only():
    host = ScheduleSpace(out_height=7, out_width=7, in_channels=64)
    assert host.genes()["kernel_order"] == ("by_pattern", "by_channel")
    by_channel = [s for s in host.all_points() if s.kernel_order == "by_channel"]
    # Canonical: one filter, no unrolling, no prefetch (the order's requirements).
    assert by_channel and {(s.tile_filters, s.unroll, s.prefetch) for s in by_channel} == {
        (1, 1, 0)
    }
    genome = {**ScheduleSpace.genome(host.default()), "kernel_order": "by_channel", "unroll": 2}
    assert (host.make(genome).prefetch, host.make(genome).unroll) == (0, 1)
    neon = ScheduleSpace(out_height=7, out_width=7, in_channels=64, target="arm64-neon")
    assert {s.kernel_order for s in neon.all_points()} == {"by_pattern"}
