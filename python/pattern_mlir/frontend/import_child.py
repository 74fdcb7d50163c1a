"""The torch-mlir child process of `torch_import`, kept between imports.

Importing torch and torch-mlir costs a fresh process seconds of CPU, more than the import of a
small model itself (measured: docs/design.md, section 10). The child
(`_torch_mlir_worker.serve`) therefore answers requests until its stdin closes, and this process
keeps one idle child for its next import: the first import of a process pays the start
(overlapped with the export), later ones do not. A child that died, or that has served
`RETIRE_AFTER` imports or holds more than `KEEP_RSS_BYTES` after one (what a long-lived
torch-mlir process accumulates stays bounded), is replaced; an idle child ends with this
process.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
import threading

from ..process_memory import rss_bytes

__all__ = ["ChildFailed", "ImportChild", "give_back", "take_child"]

RETIRE_AFTER = 32
# An idle child holding more than this after an import (a large model's heap, which Python
# keeps) is ended rather than kept.
KEEP_RSS_BYTES = 1 << 30
_STDERR_TAIL = 4000  # characters of a dead child's stderr quoted in the error


class ChildFailed(RuntimeError):
    """The child could not import the model; the message is its traceback or stderr."""


class ImportChild:
    """One `_torch_mlir_worker` process; its stderr goes to a file, read on failure."""

    def __init__(self) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - open while the child lives
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pattern_mlir.frontend._torch_mlir_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.served = 0
        self.owner = os.getpid()  # a forked copy of this process must not use or end it

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.process.poll() is None

    def run(self, request: dict) -> None:
        """One import; raises ChildFailed with the child's traceback, or its stderr if it died."""
        start = self._stderr.seek(0, 2)
        self.served += 1
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except OSError:  # the pipe broke: the child is gone
            line = ""
        if not line:
            self._stderr.seek(start)
            tail = self._stderr.read().decode(errors="replace").strip()[-_STDERR_TAIL:]
            self.close()
            raise ChildFailed(tail or f"the import process exited ({self.process.returncode})")
        answer = json.loads(line)
        if not answer["ok"]:
            raise ChildFailed(answer["error"].strip()[-_STDERR_TAIL:])

    def close(self) -> None:
        if self.owner != os.getpid():
            return
        if self.alive():
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self._stderr):
            stream.close()


_idle: list[ImportChild] = []
_lock = threading.Lock()


def take_child() -> ImportChild:
    """The idle child if it is alive, else a new one (started now: it imports torch-mlir
    while the caller exports its model)."""
    with _lock:
        child = _idle.pop() if _idle else None
    if child is not None and child.alive():
        return child
    if child is not None:
        child.close()
    return ImportChild()


def give_back(child: ImportChild) -> None:
    """Keeps `child` for the next import, unless it is spent or one is kept already."""
    if (
        child.alive()
        and child.served < RETIRE_AFTER
        and rss_bytes(child.process.pid) <= KEEP_RSS_BYTES
    ):
        with _lock:
            if not _idle:
                _idle.append(child)
                return
    child.close()


@atexit.register
def _close_idle() -> None:
    with _lock:
        children = list(_idle)
        _idle.clear()
    for child in children:
        child.close()
