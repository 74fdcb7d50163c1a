"""How a worker process hands its result to the orchestrator: one tagged JSON line on stdout.

Runtimes print on stdout themselves (converters, loggers), so the result is the one line that
starts with ``RESULT_TAG``.
"""

from __future__ import annotations

import json

__all__ = ["RESULT_TAG", "emit", "find_result"]

RESULT_TAG = "BENCH_RESULT "


def emit(result: dict) -> None:
    print(RESULT_TAG + json.dumps(result), flush=True)


def find_result(stdout: str) -> dict | None:
    """The tagged result in a worker's output, or None when it printed none."""
    for line in stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG) :])
    return None
