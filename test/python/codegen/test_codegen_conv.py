"""Generated pattern convs against torch.nn.functional.conv2d over many random layer configs."""

from __future__ import annotations

import numpy as np
import pytest
from codegen_util import make_layer, torch_conv
from pattern_mlir.backend.host_jit import PatternConvKernel
from pattern_mlir.codegen import Activation, Schedule, project

ACTS = [("none", None), ("relu", None), ("relu6", None), ("clamp", (-0.5, 0.75))]


def _configs():
    """Deterministic random configs covering channels, sizes, stride, padding, dilation, ..."""
    rng = np.random.default_rng(7)
    out = []
    for i in range(36):
        stride = (1, 2, 3)[i % 3]
        dilation = (1, 2)[(i // 3) % 2]
        padding = int(rng.integers(0, 3))
        h = int(rng.integers(1, 12)) * 2 + 1
        w = int(rng.integers(1, 14)) * 2 + 1
        if min(h, w) + 2 * padding < 2 * dilation + 1:
            padding = dilation
        out.append(
            {
                "c": int(rng.choice([1, 2, 3, 5, 7])),
                "o": int(rng.choice([1, 2, 3, 6, 9])),
                "h": h,
                "w": w,
                "stride": stride,
                "padding": padding,
                "dilation": dilation,
                "patterns": int(rng.choice([4, 8, 12])),
                "conn": float(rng.choice([1.0, 1.5, 2.5, 3.6, 5.0])),
                "bias": bool(i % 2),
                "act": ACTS[i % 4],
            }
        )
    return out


def _check(cfg, schedule=None, target="host", threads=1, rng_seed=0, taps=4):
    rng = np.random.default_rng(rng_seed)
    w, lib, a = make_layer(rng, cfg["o"], cfg["c"], cfg["patterns"], cfg["conn"], taps)
    if cfg["o"] > 1:
        a[-1] = -1  # a filter with no kept kernel: output is act(bias)
    b = rng.standard_normal(cfg["o"]).astype(np.float32) if cfg["bias"] else None
    act, clamp = cfg["act"]
    kern = PatternConvKernel(
        w,
        lib,
        a,
        b,
        cfg["stride"],
        cfg["padding"],
        cfg["dilation"],
        act,
        schedule=schedule,
        target=target,
        clamp=clamp,
        num_threads=threads,
    )
    x = rng.standard_normal((1, cfg["c"], cfg["h"], cfg["w"])).astype(np.float32)
    y = kern(x)
    ref = torch_conv(x, project(w, lib, a), b, cfg["stride"], cfg["padding"], cfg["dilation"])
    ref = Activation.make(act, clamp).apply(ref)
    assert y.shape == ref.shape
    scale = max(float(np.abs(ref).max()), 1e-6)
    err = float(np.abs(y - ref).max()) / scale
    assert err <= 1e-4, f"rel err {err:.2e} for {cfg}"
    return kern


@pytest.mark.parametrize(
    "cfg",
    _configs(),
    ids=lambda c: "c{c}o{o}_{h}x{w}_s{stride}p{padding}d{dilation}_P{patterns}".format(**c),
)
def test_random_configs(cfg):
    _check(cfg)


SCHEDULES = [
    Schedule(tile_rows=1, tile_cols=16),
    Schedule(tile_rows=3, tile_cols=32, unroll=2, prefetch=0),
    Schedule(tile_rows=2, tile_cols=16, unroll=3, loop_order="filters_outer"),
    Schedule(tile_rows=5, tile_cols=64, prefetch=3),
    Schedule(tile_rows=2, tile_cols=8, vector_width=8),
    Schedule(tile_rows=3, tile_cols=32, tile_channels=2),
    Schedule(tile_rows=4, tile_cols=16, tile_channels=1, unroll=2, prefetch=1),
    # Filter blocks: 5 filters = 2 blocks of 2 + 1 alone, 1 block of 3 + 2 alone, 1 of 4 + 1.
    Schedule(tile_rows=2, tile_cols=16, tile_filters=2),
    Schedule(tile_rows=3, tile_cols=32, tile_filters=3, tile_channels=2, unroll=2, prefetch=0),
    Schedule(tile_rows=1, tile_cols=16, tile_filters=4, loop_order="filters_outer", prefetch=1),
    # Input rows padded to other multiples than a cache line (any power of two is valid).
    Schedule(tile_rows=2, tile_cols=32, row_align=8),
    Schedule(tile_rows=3, tile_cols=16, tile_channels=2, row_align=4),
    Schedule(tile_rows=2, tile_cols=8, vector_width=8, row_align=1),
    # One loop over each filter's kernels in channel order, tap offsets from a table.
    Schedule(tile_rows=2, tile_cols=16, prefetch=0, kernel_order="by_channel"),
    Schedule(
        tile_rows=3,
        tile_cols=32,
        tile_channels=2,
        prefetch=0,
        row_align=4,
        kernel_order="by_channel",
    ),
    Schedule(
        tile_rows=2,
        tile_cols=8,
        vector_width=8,
        prefetch=0,
        loop_order="filters_outer",
        kernel_order="by_channel",
    ),
]


@pytest.mark.parametrize(
    "sched",
    SCHEDULES,
    ids=lambda s: (
        f"r{s.tile_rows}c{s.tile_cols}f{s.tile_filters}k{s.tile_channels}v{s.vector_width}"
        f"u{s.unroll}{s.loop_order[0]}a{s.row_align}{s.kernel_order[3]}"
    ),
)
def test_schedules(sched):
    cfg = {
        "c": 3,
        "o": 5,
        "h": 13,
        "w": 37,
        "stride": 1,
        "padding": 1,
        "dilation": 1,
        "patterns": 8,
        "conn": 1.5,
        "bias": True,
        "act": ("relu", None),
    }
    _check(cfg, schedule=sched)
    _check({**cfg, "stride": 2, "dilation": 2, "w": 45}, schedule=sched)


def test_neon_schedule_runs_on_host():
    cfg = {
        "c": 4,
        "o": 6,
        "h": 11,
        "w": 23,
        "stride": 1,
        "padding": 1,
        "dilation": 1,
        "patterns": 8,
        "conn": 2.0,
        "bias": True,
        "act": ("relu6", None),
    }
    kern = _check(cfg, target="arm64-neon")
    assert "vector<4xf32>" in kern.mlir and "vector<16xf32>" not in kern.mlir


@pytest.mark.parametrize("taps", [1, 2, 5, 9])
def test_other_tap_counts(taps):
    cfg = {
        "c": 3,
        "o": 4,
        "h": 9,
        "w": 21,
        "stride": 1,
        "padding": 1,
        "dilation": 1,
        "patterns": 4,
        "conn": 1.0,
        "bias": True,
        "act": ("none", None),
    }
    _check(cfg, taps=taps)


def test_threads_match_single_thread():
    rng = np.random.default_rng(3)
    w, lib, a = make_layer(rng, 24, 16, 8, 3.0)
    x = rng.standard_normal((1, 16, 20, 40)).astype(np.float32)
    y1 = PatternConvKernel(w, lib, a, padding=1, num_threads=1)(x)
    y3 = PatternConvKernel(w, lib, a, padding=1, num_threads=3)(x)
    np.testing.assert_array_equal(y1, y3)
    # 3 groups of 8 filters in blocks of 3: every group ends with 2 filters alone.
    blocked = Schedule(tile_rows=2, tile_cols=48, tile_filters=3)
    y3b = PatternConvKernel(w, lib, a, padding=1, schedule=blocked, num_threads=3)(x)
    np.testing.assert_allclose(y3b, y1, rtol=1e-5, atol=1e-5)
    # A schedule's threads ask for fewer groups than the budget, never more.
    two = PatternConvKernel(w, lib, a, padding=1, schedule=Schedule(threads=2), num_threads=3)
    assert two.num_threads == 2
    np.testing.assert_array_equal(two(x), y1)
    assert (
        PatternConvKernel(w, lib, a, schedule=Schedule(threads=5), num_threads=3).num_threads == 3
    )


@pytest.mark.parametrize("act", ACTS, ids=lambda a: a[0])
def test_channel_blocks_apply_activation_once(act):
    # Activation must apply after the last channel block only, bias before the first only.
    cfg = {
        "c": 7,
        "o": 6,
        "h": 9,
        "w": 27,
        "stride": 1,
        "padding": 1,
        "dilation": 1,
        "patterns": 8,
        "conn": 1.5,
        "bias": True,
        "act": act,
    }
    _check(cfg, schedule=Schedule(tile_rows=4, tile_cols=16, tile_channels=3), threads=2)


def test_wide_layer_several_column_blocks():
    cfg = {
        "c": 4,
        "o": 5,
        "h": 10,
        "w": 150,
        "stride": 1,
        "padding": 1,
        "dilation": 1,
        "patterns": 8,
        "conn": 2.0,
        "bias": True,
        "act": ("none", None),
    }
    _check(cfg, threads=2)


def test_default_schedule_with_channel_blocks():
    # Stride 2: the default blocks channels on every CPU vendor (stride 1 only on Intel).
    cfg = {
        "c": 40,
        "o": 12,
        "h": 15,
        "w": 56,
        "stride": 2,
        "padding": 1,
        "dilation": 1,
        "patterns": 8,
        "conn": 3.6,
        "bias": True,
        "act": ("relu", None),
    }
    kern = _check(cfg, threads=2)
    assert kern.plan(15, 56).channel_blocks > 1


@pytest.mark.parametrize("order", ["by_pattern", "by_channel"])
def test_all_kernels_removed_gives_activated_bias(order):
    rng = np.random.default_rng(5)
    w, lib, _ = make_layer(rng, 3, 4)
    a = np.full((3, 4), -1, np.int32)
    b = np.array([-1.0, 0.5, 7.0], np.float32)
    sched = Schedule(prefetch=0, kernel_order=order)
    kern = PatternConvKernel(
        w, lib, a, b, padding=1, activation="relu6", schedule=sched, num_threads=2
    )
    y = kern(rng.standard_normal((1, 4, 5, 6)).astype(np.float32))
    np.testing.assert_array_equal(
        y, np.broadcast_to(np.array([0.0, 0.5, 6.0], np.float32)[:, None, None], (1, 3, 5, 6))
    )
