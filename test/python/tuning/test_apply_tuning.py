"""pattern-apply-tuning: database entries become the convs' schedules, visible in stage IR."""

import dataclasses
import shlex

import numpy as np
import pattern_mlir
import pytest
import torch
from mlir import ir
from pattern_mlir.codegen.schedule import Schedule
from pattern_mlir.passes.registry import lookup
from pattern_mlir.tuning import TuningDB, TuningResult, layer_from_arrays
from tuning_testlib import module_text as _module_text

TUNED = Schedule(
    tile_rows=3,
    tile_cols=16,
    tile_channels=8,
    vector_width=8,
    unroll=2,
    prefetch=0,
    loop_order="rows_outer",
)
TUNED_TEXT = (
    "#pattern.schedule<tile_rows = 3, tile_cols = 16, tile_filters = 1, "
    "tile_channels = 8, vector_width = 8, unroll = 2, prefetch = 0, "
    "loop_order = rows_outer, threads = 0>"
)


ACCUMULATORS = "-> (" + ", ".join(["vector<8xf32>"] * 6) + ")"


def _apply(text: str, **options) -> str:
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        # Options in pattern-opt syntax, parsed as the command line parses them.
        text_options = " ".join(
            f"{key}={shlex.quote(str(value))}" for key, value in options.items()
        )
        lookup("pattern-apply-tuning").parse(text_options).apply(module.operation)
        return str(module)


@pytest.fixture
def db_path(tmp_path, small_layer):
    path = tmp_path / "tuning.sqlite"
    with TuningDB(path) as db:
        db.put(TuningResult(small_layer.signature, TUNED, 1.0, 1.3))
    return str(path)


def test_entry_sets_schedule_and_compile_uses_it(small_arrays, db_path):
    weights, _, _ = small_arrays
    bias = np.linspace(-1, 1, 16).astype(np.float32)
    tuned_text = _apply(_module_text(weights, bias), db=db_path)
    assert TUNED_TEXT in tuned_text
    exe = pattern_mlir.compile_str(tuned_text, "host", pattern_mlir.CompileOptions(num_threads=1))
    # The schedule travels through packing, and the kernel is generated with it: blocks of
    # 3 rows x 2 vector<8xf32> (tile_cols 16), so 6 accumulators per pattern loop.
    assert TUNED_TEXT in exe.ir("packed")
    assert ACCUMULATORS in exe.ir("vector")
    x = np.random.default_rng(1).standard_normal((1, 16, 12, 20)).astype(np.float32)
    ref = torch.relu(
        torch.nn.functional.conv2d(
            torch.from_numpy(x), torch.from_numpy(weights), torch.from_numpy(bias), padding=1
        )
    )
    np.testing.assert_allclose(np.asarray(exe(x)), ref.numpy(), rtol=1e-4, atol=1e-4)


def test_compile_option_tuning_db(small_arrays, db_path):
    """compile() runs pattern-apply-tuning with CompileOptions.tuning_db: the tuned stage
    shows the entry's schedule and the kernel is generated with it."""
    weights, _, _ = small_arrays
    options = pattern_mlir.CompileOptions(num_threads=1, tuning_db=db_path)
    exe = pattern_mlir.compile_str(_module_text(weights), "host", options)
    assert TUNED_TEXT in exe.ir("tuned")
    assert ACCUMULATORS in exe.ir("vector")


def test_entries_for_the_compile_thread_count_come_first(tmp_path, small_arrays, small_layer):
    """At num_threads=2 an entry tuned for 2 threads wins over the one-thread entry, and its
    `threads` (here 1: one filter group) is what the lowering runs; without a 2-thread entry
    the one-thread entry applies and its groups follow the thread count."""
    weights, _, _ = small_arrays
    one_group = dataclasses.replace(TUNED, threads=1)
    path = tmp_path / "t.sqlite"
    with TuningDB(path) as db:
        db.put(TuningResult(small_layer.signature, TUNED, 1.0, 1.3))
    x = np.random.default_rng(2).standard_normal((1, 16, 12, 20)).astype(np.float32)
    ref = torch.relu(
        torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(weights), padding=1)
    ).numpy()

    def compiled(threads):
        options = pattern_mlir.CompileOptions(num_threads=threads, tuning_db=str(path))
        exe = pattern_mlir.compile_str(_module_text(weights), "host", options)
        np.testing.assert_allclose(np.asarray(exe(x)), ref, rtol=1e-4, atol=1e-4)
        return exe

    exe = compiled(2)
    assert TUNED_TEXT in exe.ir("tuned") and "scf.parallel" in exe.ir("vector")
    with TuningDB(path) as db:
        db.put(
            TuningResult(dataclasses.replace(small_layer.signature, threads=2), one_group, 1.0, 1.1)
        )
    exe = compiled(2)
    assert TUNED_TEXT.replace("threads = 0", "threads = 1") in exe.ir("tuned")
    assert "scf.parallel" not in exe.ir("vector")
    assert TUNED_TEXT in compiled(1).ir("tuned")
    with pytest.raises(ValueError, match="threads=0 is not a count"):
        _apply(_module_text(weights), db=str(path), threads="0")


def test_no_entry_leaves_the_default(tmp_path, small_arrays, db_path):
    weights, _, _ = small_arrays
    other = _module_text(weights, hw=(10, 20))  # another size: no entry, no shape class
    assert "schedule" not in _apply(other, db=db_path)
    other = _module_text(weights[:8])  # 16 -> 8 channels: no entry (learned=0: no fallback)
    assert "schedule" not in _apply(other, db=db_path, learned="0")
    assert "schedule" not in _apply(_module_text(weights), db=db_path, cpu="another cpu")


def test_explicit_schedule_wins_unless_overwrite(small_arrays, db_path):
    weights, _, _ = small_arrays
    text = _apply(_module_text(weights), db=db_path).replace("tile_rows = 3", "tile_rows = 2")
    assert "tile_rows = 2" in _apply(text, db=db_path)
    assert TUNED_TEXT in _apply(text, db=db_path, overwrite="1")


def test_learned_fallback(tmp_path, small_arrays):
    """No exact entry: the nearest tuned layer of the same output size lends its schedule."""
    weights, library, assignment = small_arrays
    # Tuned: the same conv with 24 input channels (another signature), 1.3x over its default.
    w24 = np.concatenate([weights, weights[:, :8]], axis=1)
    a24 = np.concatenate([assignment, assignment[:, :8]], axis=1)
    sig24 = layer_from_arrays(w24, library, a24, 12, 20, 1, 1).signature
    path = tmp_path / "t.sqlite"
    with TuningDB(path) as db:
        db.put(TuningResult(sig24, TUNED, 1.0, 1.3))
    text = _module_text(weights)
    assert TUNED_TEXT in _apply(text, db=str(path))
    assert "schedule" not in _apply(text, db=str(path), learned="0")


def test_errors(tmp_path, small_arrays):
    weights, _, _ = small_arrays
    text = _module_text(weights)
    with pytest.raises(ValueError, match="db=PATH is required"):
        _apply(text)
    with pytest.raises(ValueError, match="does not exist"):
        _apply(text, db=str(tmp_path / "missing.sqlite"))
    with pytest.raises(ValueError, match="unknown option"):
        _apply(text, db="x", bogus="1")


def test_by_channel_entry_compiles_and_matches_torch(tmp_path, small_arrays, small_layer):
    """A by-channel schedule from the database reaches the kernel: its function reads tap
    offsets (memref<?x4xi32>) instead of per-pattern runs, and the model still matches torch."""
    weights, _, _ = small_arrays
    schedule = Schedule(
        tile_rows=2,
        tile_cols=16,
        tile_channels=8,
        prefetch=0,
        row_align=4,
        kernel_order="by_channel",
    )
    path = tmp_path / "tuning.sqlite"
    with TuningDB(path) as db:
        db.put(TuningResult(small_layer.signature, schedule, 1.0, 1.3))
    bias = np.linspace(-1, 1, 16).astype(np.float32)
    tuned = _apply(_module_text(weights, bias), db=str(path))
    assert "row_align = 4, kernel_order = by_channel>" in tuned
    exe = pattern_mlir.compile_str(tuned, "host", pattern_mlir.CompileOptions(num_threads=2))
    assert "memref<?x4xi32>" in exe.ir("vector")
    x = np.random.default_rng(2).standard_normal((1, 16, 12, 20)).astype(np.float32)
    ref = torch.relu(
        torch.nn.functional.conv2d(
            torch.from_numpy(x), torch.from_numpy(weights), torch.from_numpy(bias), padding=1
        )
    )
    np.testing.assert_allclose(np.asarray(exe(x)), ref.numpy(), rtol=1e-4, atol=1e-4)
