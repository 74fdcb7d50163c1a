"""Tuning real generated code: a small model end to end through the CLI, then resume."""

import sqlite3

import pytest
from mlir import ir
from mlir.dialects import func
from pattern_mlir import tuning_cli
from pattern_mlir.dialects import builders
from pattern_mlir.tuning import LayerBench, TuningDB, parse_budget
from pattern_mlir.tuning_db.space import ScheduleSpace


def _two_conv_module(weights) -> str:
    """Two equal convs (one signature) and a strided one: two layers to tune."""
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.create()
        t = ir.RankedTensorType.get([1, 16, 12, 20], ir.F32Type.get())
        lib = builders.derive_library(weights)
        with ir.InsertionPoint(module.body):

            @func.FuncOp.from_py_func(t, name="forward")
            def forward(x):
                y = builders.build_conv2d(x, weights, lib, padding=1, activation="relu")
                y = builders.build_conv2d(y, weights, lib, padding=1, activation="relu")
                return builders.build_conv2d(y, weights, lib, stride=2, padding=1)

        return str(module)


def test_parse_budget():
    assert parse_budget("5m") == 300 and parse_budget("90s") == 90 and parse_budget("1m30s") == 90
    assert parse_budget("300") == 300 and parse_budget("1h") == 3600 and parse_budget(12) == 12


def test_measure_is_positive_and_rejects_hopeless(small_layer):
    bench = LayerBench(small_layer)
    space = ScheduleSpace(12, 20, 16)
    m = bench.measure(space.default(), repeats=3)
    assert m.status == "ok" and m.ms > 0 and len(m.samples) == 3
    slow = bench.measure(space.default(), repeats=3, bound=m.ms / 10)
    assert slow.rejected and len(slow.samples) == 1


def test_tuning_for_two_threads_searches_filter_groups(tmp_path, small_arrays, small_layer):
    """--threads 2: schedules carry a group count, timed by wall clock, stored for 2 threads
    beside (not over) the one-thread entry."""
    weights, _, _ = small_arrays
    model = tmp_path / "model.mlir"
    model.write_text(_two_conv_module(weights))
    db_path = tmp_path / "tuning.sqlite"
    argv = [str(model), "--db", str(db_path), "--budget", "12s", "--no-progress", "--threads", "2"]
    assert tuning_cli.main(argv) == 0
    with TuningDB(db_path) as db:
        results = db.results()
        assert len(results) == 2
        assert all(r.signature.threads == 2 and r.clock == "wall" for r in results)
        assert all(r.schedule.threads in (1, 2) for r in results)
        assert db.get(small_layer.signature) is None  # the one-thread entry is another key
        measured = {s.threads for r in results for s in db.measurements(r.signature)}
    assert measured == {1, 2}
    with pytest.raises(ValueError, match="clock='wall'"):
        LayerBench(small_layer, clock="cpu", threads=2)


def test_cli_tunes_an_mlir_file_and_resumes(tmp_path, small_arrays, capsys):
    weights, _, _ = small_arrays
    model = tmp_path / "model.mlir"
    model.write_text(_two_conv_module(weights))
    db_path = tmp_path / "tuning.sqlite"
    argv = [str(model), "--db", str(db_path), "--budget", "30s", "--no-progress"]
    assert tuning_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "16->16 12x20 " in out and "16->16 12x20 s2" in out and "tuned" in out
    assert "faster than the default" in out
    with TuningDB(db_path) as db:
        results = db.results()
        assert len(results) == 2 and all(r.ms > 0 and r.evaluations >= 1 for r in results)
    # Run again: nothing left to tune.
    assert tuning_cli.main(argv) == 0
    assert capsys.readouterr().out.count("cached") == 2
    # A run killed before storing a layer's result resumes from its stored measurements.
    with sqlite3.connect(db_path) as c:
        before = dict(c.execute("SELECT key || schedule, updated FROM measurements"))
        c.execute("DELETE FROM results WHERE key LIKE '%12x20 s2,2%'")
    assert tuning_cli.main(argv[:3] + ["--budget", "6s", "--no-progress"]) == 0
    with sqlite3.connect(db_path) as c:
        after = dict(c.execute("SELECT key || schedule, updated FROM measurements"))
    assert all(after[k] == v for k, v in before.items()), "a measured schedule was re-measured"
    assert "tuned" in capsys.readouterr().out


def test_sigkill_of_a_real_tune_run_then_resume(tmp_path, small_arrays):
    """`pattern-mlir tune` killed with SIGKILL mid-search: the database stays readable, and the
    rerun keeps every measurement the killed run committed and finishes both layers."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    weights, _, _ = small_arrays
    model = tmp_path / "model.mlir"
    model.write_text(_two_conv_module(weights))
    db_path = tmp_path / "tuning.sqlite"
    cli = Path(sys.executable).with_name("pattern-mlir")
    args = [str(cli), "tune", str(model), "--db", str(db_path), "--no-progress"]
    run = subprocess.Popen(
        [*args, "--budget", "120s"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 100

    def measured() -> int:
        if not db_path.exists():
            return 0
        try:
            with sqlite3.connect(db_path, timeout=5) as c:
                return c.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]
        except sqlite3.OperationalError:  # the schema is not created yet
            return 0

    while measured() < 3 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run.poll() is None, f"tune ended before it could be killed: {run.stderr.read()}"
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert run.returncode == -signal.SIGKILL

    with TuningDB(db_path) as db:
        assert db.integrity() == "ok"
    with sqlite3.connect(db_path) as c:
        before = dict(c.execute("SELECT key || schedule, updated FROM measurements"))
    assert len(before) >= 3
    done = subprocess.run([*args, "--budget", "30s"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with TuningDB(db_path) as db:
        assert db.integrity() == "ok" and len(db.results()) == 2
    with sqlite3.connect(db_path) as c:
        after = dict(c.execute("SELECT key || schedule, updated FROM measurements"))
    assert all(after[k] == v for k, v in before.items()), (
        "a committed measurement was lost or redone"
    )
