"""The tuning database: one SQLite file of per-layer results and every measurement made.

Why SQLite: each write is a transaction, so a tuner killed with SIGKILL mid-write leaves the
file as it was before that write (the rollback journal is replayed by the next opener), and
two tuners writing at once are serialised by SQLite's file lock (a writer waits up to
``timeout`` seconds) instead of overwriting each other's work, which a rewritten JSON file
would do. ``synchronous=FULL`` makes a committed write survive a power cut too.

Two tables:
* ``results``: per layer signature key, the chosen schedule with its time and the default
  schedule's time, both from the same interleaved re-measurement; what ``compile`` reads.
* ``measurements``: every candidate a search measured, so an interrupted tuning resumes
  without measuring them again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Self

from ..codegen.schedule import Schedule
from .signature import LayerSignature

__all__ = ["SCHEMA_VERSION", "TuningDB", "TuningResult", "default_db_path"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    signature TEXT NOT NULL,
    schedule TEXT NOT NULL,
    ms REAL NOT NULL,
    default_ms REAL NOT NULL,
    evaluations INTEGER NOT NULL,
    seconds REAL NOT NULL,
    clock TEXT NOT NULL,
    updated REAL NOT NULL,
    target TEXT NOT NULL,
    cpu TEXT NOT NULL,
    out_height INTEGER NOT NULL,
    out_width INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS results_class ON results (target, cpu, out_height, out_width);
CREATE TABLE IF NOT EXISTS measurements (
    key TEXT NOT NULL,
    schedule TEXT NOT NULL,
    ms REAL,
    status TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (key, schedule)
);
"""


def default_db_path() -> Path:
    """``$PATTERN_MLIR_TUNING_DB``, else ``~/.cache/pattern-mlir/tuning.sqlite``."""
    env = os.environ.get("PATTERN_MLIR_TUNING_DB")
    if env:
        return Path(env)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "pattern-mlir" / "tuning.sqlite"


def schedule_to_json(s: Schedule) -> str:
    return json.dumps(asdict(s), sort_keys=True)


def schedule_from_json(text: str) -> Schedule:
    return Schedule(**json.loads(text))


@dataclass(frozen=True)
class TuningResult:
    """The outcome of tuning one layer signature."""

    signature: LayerSignature
    schedule: Schedule
    ms: float  # the chosen schedule's median time
    default_ms: float  # the default schedule's median time, measured interleaved with it
    evaluations: int = 0  # schedules measured by the search
    seconds: float = 0.0  # tuning time spent on this layer
    clock: str = "cpu"
    updated: float = 0.0

    @property
    def speedup(self) -> float:
        return self.default_ms / self.ms if self.ms > 0 else 1.0


class TuningDB:
    """A tuning database file; safe to share between processes. Use as a context manager."""

    def __init__(self, path: str | os.PathLike, *, timeout: float = 60.0, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise FileNotFoundError(f"tuning database {self.path} does not exist")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE takes the write
        # lock up front, so two writers never deadlock upgrading a read lock).
        self._conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
        self._conn.execute("PRAGMA synchronous=FULL")
        with self._write() as c:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                c.execute(statement)
            row = c.execute("SELECT value FROM meta WHERE name='schema'").fetchone()
            if row is None:
                c.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) != SCHEMA_VERSION:
                raise ValueError(
                    f"{self.path} has tuning database schema {row[0]}; this pattern-mlir "
                    f"reads schema {SCHEMA_VERSION} (tune into a new file)"
                )

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # ----- results -----------------------------------------------------------------------
    def put(self, result: TuningResult, *, keep_faster: bool = True) -> bool:
        """Stores a result; with ``keep_faster`` an existing faster result for the key stays.

        Returns whether the result was written. Two tuners finishing the same layer thus keep
        the better schedule, whichever commits last.
        """
        sig = result.signature
        key = sig.key()
        with self._write() as c:
            if keep_faster:
                row = c.execute("SELECT ms FROM results WHERE key=?", (key,)).fetchone()
                if row is not None and row[0] <= result.ms:
                    return False
            c.execute(
                "INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    key,
                    sig.to_json(),
                    schedule_to_json(result.schedule),
                    result.ms,
                    result.default_ms,
                    result.evaluations,
                    result.seconds,
                    result.clock,
                    result.updated or time.time(),
                    sig.target,
                    sig.cpu,
                    sig.out_height,
                    sig.out_width,
                ),
            )
        return True

    def get(self, signature: LayerSignature) -> TuningResult | None:
        row = self._conn.execute("SELECT * FROM results WHERE key=?", (signature.key(),)).fetchone()
        return None if row is None else _result(row)

    def results(self, target: str | None = None, cpu: str | None = None) -> list[TuningResult]:
        """Every result, optionally of one target and CPU, oldest first."""
        sql, args = "SELECT * FROM results", []
        conds = []
        if target is not None:
            conds.append("target=?")
            args.append(target)
        if cpu is not None:
            conds.append("cpu=?")
            args.append(cpu)
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        return [_result(r) for r in self._conn.execute(sql + " ORDER BY updated", args)]

    def delete(self, signature: LayerSignature) -> None:
        with self._write() as c:
            c.execute("DELETE FROM results WHERE key=?", (signature.key(),))
            c.execute("DELETE FROM measurements WHERE key=?", (signature.key(),))

    # ----- measurements ------------------------------------------------------------------
    def add_measurement(
        self, signature: LayerSignature, schedule: Schedule, ms: float | None, status: str
    ) -> None:
        with self._write() as c:
            c.execute(
                "INSERT OR REPLACE INTO measurements VALUES (?,?,?,?,?)",
                (signature.key(), schedule_to_json(schedule), ms, status, time.time()),
            )

    def rescale_measurements(self, signature: LayerSignature, factor: float) -> None:
        """Multiplies a layer's measured times by ``factor`` (one transaction; ``updated``
        stays the time of measurement)."""
        with self._write() as c:
            c.execute(
                "UPDATE measurements SET ms = ms * ? WHERE key=? AND ms IS NOT NULL",
                (factor, signature.key()),
            )

    def measurements(self, signature: LayerSignature) -> dict[Schedule, float | None]:
        """Schedules measured for a layer: time, or None for failed ones."""
        rows = self._conn.execute(
            "SELECT schedule, ms, status FROM measurements WHERE key=?", (signature.key(),)
        )
        return {
            schedule_from_json(s): (None if status == "failed" else ms) for s, ms, status in rows
        }

    def integrity(self) -> str:
        """SQLite's integrity check: 'ok' for a sound file."""
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0]


def _result(row) -> TuningResult:
    return TuningResult(
        signature=LayerSignature.from_json(row[1]),
        schedule=schedule_from_json(row[2]),
        ms=row[3],
        default_ms=row[4],
        evaluations=row[5],
        seconds=row[6],
        clock=row[7],
        updated=row[8],
    )
