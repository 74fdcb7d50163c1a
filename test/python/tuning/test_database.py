"""The tuning database: round trip, two writers at once, SIGKILL in the middle of writes."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from pattern_mlir.codegen.schedule import Schedule
from pattern_mlir.tuning import LayerSignature, TuningDB, TuningResult
from pattern_mlir.tuning_db.database import SCHEMA_VERSION

LIB = "3x3:27,58,146,402"


def _sig(channels: int = 64, cpu: str = "test cpu") -> LayerSignature:
    return LayerSignature(
        channels, 64, 56, 56, (1, 1), (1, 1, 1, 1), (1, 1), LIB, 3.6, "host", cpu, kept=1138
    )


def test_round_trip(tmp_path):
    path = tmp_path / "t.sqlite"
    s = Schedule(
        tile_rows=3,
        tile_cols=48,
        tile_channels=32,
        vector_width=16,
        unroll=2,
        prefetch=1,
        loop_order="rows_outer",
    )
    with TuningDB(path) as db:
        assert db.get(_sig()) is None
        assert db.put(TuningResult(_sig(), s, 1.5, 2.0, evaluations=40, seconds=12.5))
        db.add_measurement(_sig(), s, 1.5, "ok")
        db.add_measurement(_sig(), Schedule(), None, "failed")
    with TuningDB(path, create=False) as db:
        r = db.get(_sig())
        assert r.schedule == s and r.ms == 1.5 and r.default_ms == 2.0
        assert r.signature == _sig() and r.speedup == pytest.approx(4 / 3)
        assert r.evaluations == 40 and r.seconds == 12.5 and r.clock == "cpu"
        assert db.measurements(_sig()) == {s: 1.5, Schedule(): None}
        assert db.get(_sig(cpu="other cpu")) is None  # the CPU is part of the key
        assert [x.signature for x in db.results(target="host")] == [_sig()]
        assert db.integrity() == "ok"


def test_keep_faster_and_replace(tmp_path):
    with TuningDB(tmp_path / "t.sqlite") as db:
        assert db.put(TuningResult(_sig(), Schedule(tile_rows=2), 1.0, 2.0))
        assert not db.put(TuningResult(_sig(), Schedule(tile_rows=3), 1.2, 2.0))
        assert db.get(_sig()).schedule.tile_rows == 2
        assert db.put(TuningResult(_sig(), Schedule(tile_rows=3), 1.2, 2.0), keep_faster=False)
        assert db.get(_sig()).schedule.tile_rows == 3


def test_missing_file_and_other_schema(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TuningDB(tmp_path / "none.sqlite", create=False)
    path = tmp_path / "t.sqlite"
    TuningDB(path).close()
    import sqlite3

    with sqlite3.connect(path) as c:
        c.execute("UPDATE meta SET value=? WHERE name='schema'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(ValueError, match="schema"):
        TuningDB(path)


_WRITER = textwrap.dedent("""
    import sys
    from pattern_mlir.codegen.schedule import Schedule
    from pattern_mlir.tuning import LayerSignature, TuningDB, TuningResult
    path, tag, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    cpu = sys.argv[4] if len(sys.argv) > 4 else f"writer {tag}"
    offset = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    with TuningDB(path) as db:
        for i in range(count):
            sig = LayerSignature(1 + i, 64, 56, 56, (1, 1), (1, 1, 1, 1), (1, 1),
                                 "3x3:27,58", 3.6, "host", cpu, kept=100)
            db.put(TuningResult(sig, Schedule(tile_rows=1 + i % 8, unroll=tag), 1.0 + i + offset,
                                2.0 + i))
            db.add_measurement(sig, Schedule(unroll=2), 1.0 + i, "ok")
            print(i + 1, flush=True)
""")


def _writer(path, tag: int, count: int, *same_key) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(tag), str(count), *map(str, same_key)],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_two_writers_at_once_lose_nothing(tmp_path):
    path = tmp_path / "t.sqlite"
    count = 60
    writers = [_writer(path, tag, count) for tag in (1, 2)]
    for w in writers:
        out, _ = w.communicate(timeout=120)
        assert w.returncode == 0
        assert out.split()[-1] == str(count)
    with TuningDB(path) as db:
        for tag in (1, 2):
            rows = db.results(cpu=f"writer {tag}")
            assert len(rows) == count
            assert sorted(r.signature.in_channels for r in rows) == list(range(1, count + 1))
            for r in rows:
                assert (
                    r.ms == r.signature.in_channels and r.schedule.tile_rows == 1 + (r.ms - 1) % 8
                )
                assert db.measurements(r.signature) == {Schedule(unroll=2): r.ms}
        assert db.integrity() == "ok"


def test_two_writers_of_the_same_keys_keep_the_faster_result(tmp_path):
    # Both tuners finish the same 60 layers at once; writer 2 always measured 0.25 ms less.
    # Whichever commits last, every key must hold writer 2's result: the compare and the
    # write of keep_faster are one transaction.
    path = tmp_path / "t.sqlite"
    count = 60
    writers = [_writer(path, 1, count, "shared", 0.0), _writer(path, 2, count, "shared", -0.25)]
    for w in writers:
        out, _ = w.communicate(timeout=120)
        assert w.returncode == 0 and out.split()[-1] == str(count)
    with TuningDB(path) as db:
        rows = db.results(cpu="shared")
        assert len(rows) == count
        for r in rows:
            assert r.schedule.unroll == 2 and r.ms == r.signature.in_channels - 0.25
            assert db.measurements(r.signature) == {
                Schedule(unroll=2): float(r.signature.in_channels)
            }
        assert db.integrity() == "ok"


@pytest.mark.parametrize("delay", [0.3, 0.6, 1.0])
def test_sigkill_mid_write_leaves_a_readable_database(tmp_path, delay):
    path = tmp_path / "t.sqlite"
    writer = _writer(path, 1, 100000)
    # Wait until the writer has committed something, then kill it while it keeps writing.
    first = writer.stdout.readline()
    assert first.strip() == "1"
    time.sleep(delay)
    os.kill(writer.pid, signal.SIGKILL)
    committed = [first] + writer.stdout.read().split()
    writer.wait()
    assert writer.returncode == -signal.SIGKILL
    with TuningDB(path) as db:  # the next opener rolls a hot journal back
        assert db.integrity() == "ok"
        rows = db.results()
        # Every write the writer saw committed is there, complete; at most one more.
        assert int(committed[-1]) <= len(rows) <= int(committed[-1]) + 1
        for r in rows:
            assert r.ms == r.signature.in_channels and r.default_ms == r.ms + 1
        db.put(TuningResult(_sig(), Schedule(), 1.0, 1.0))  # and it is writable
