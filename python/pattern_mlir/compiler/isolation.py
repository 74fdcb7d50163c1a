"""Runs the compiler's stages in a watched child process (`stage_worker`), so that nothing a
stage does (an upstream assertion, a segfault, a pass that never ends or allocates without
bound) can take the caller's process down.

The parent writes the linalg text and the weights (raw arrays, `weight_files`) to a scratch
directory, the child answers with each stage's text and the final module as bytecode. While
it runs, the parent polls its resident memory and the clock against `Limits`; past either,
the child is killed. A child that died is asked once more, with the failing stage named,
to save that stage's input and replay it step by step, so the error names the pass (for
upstream pipelines) and comes with a `pattern-opt` command that reproduces the failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..frontend.weight_files import scratch_directory, write_arrays
from ..process_memory import rss_bytes
from ..runtime.call_signature import TensorSpec
from .errors import CompileError

__all__ = ["Limits", "StageWorker", "WorkerResult"]

_POLL_SECONDS = 0.02
_STDERR_TAIL = 3000  # characters of the child's stderr quoted in an error


@dataclass(frozen=True)
class Limits:
    """What one compile may take: wall-clock seconds and resident memory of its stages."""

    seconds: float
    memory_bytes: int


@dataclass
class WorkerResult:
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    seconds: dict[str, float]
    bytecode: Path  # the last stage's module, until the worker is closed
    peak_rss: int  # bytes, as sampled


class StageWorker:
    """One stage worker, started at once: its imports (MLIR, the passes) overlap whatever the
    caller does before `run`, e.g. exporting a torch model."""

    def __init__(self) -> None:
        self.directory = Path(
            tempfile.mkdtemp(prefix="pattern-mlir-stages-", dir=scratch_directory(0))
        )
        self._process = self._spawn(self.directory)

    @staticmethod
    def _spawn(directory: Path) -> subprocess.Popen:
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / "stderr", "wb") as stderr:
            return subprocess.Popen(
                [sys.executable, "-m", "pattern_mlir.compiler.stage_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )

    def close(self) -> None:
        """Stops the child (if it still runs) and removes its files."""
        _kill(self._process)
        shutil.rmtree(self.directory, ignore_errors=True)

    def run(
        self,
        text: str,
        resources: Mapping[str, np.ndarray],
        request: dict,
        limits: Limits,
        report=None,
    ) -> WorkerResult:
        """Runs the stages `request` describes (target, options, temps) on `text`.

        Raises CompileError for a stage that failed, crashed, or went past `limits`. The
        caller closes the worker once it has read the result's bytecode.
        """
        try:
            return self._run(text, resources, request, limits, report)
        except BaseException:
            self.close()
            raise

    def _run(self, text, resources, request, limits, report) -> WorkerResult:
        start = time.perf_counter()
        text_path = self.directory / "input.mlir"
        text_path.write_text(text)
        request = dict(request, text_path=str(text_path), outdir=str(self.directory / "out"))
        if resources:
            request["resources_path"] = str(self.directory / "resources")
            write_arrays(Path(request["resources_path"]), resources)
        handover = time.perf_counter() - start
        outcome = _watch(self._process, request, limits, report, until_result=True)
        out = Path(request["outdir"])
        result_path = out / "result.json"
        if outcome.failure is None and result_path.exists():
            result = json.loads(result_path.read_text())
            if "error" in result:
                error = result["error"]
                raise CompileError(
                    error["stage"], error["message"], error.get("input_path"), error.get("command")
                )
            self._limits, self._names = limits, result["stages"]
            return WorkerResult(
                [TensorSpec.from_json(s) for s in result["inputs"]],
                [TensorSpec.from_json(s) for s in result["outputs"]],
                {"handover": handover, **result["seconds"]},
                out / "final.mlirbc",
                outcome.peak_rss,
            )
        raise self._crash_error(request, limits, outcome)

    def stage_texts(self) -> dict[str, str]:
        """Each stage's IR for reading, once the worker has printed them (after `run`); a
        stage it could not print says so instead of failing the compile."""
        out = self.directory / "out"
        outcome = _watch(self._process, None, self._limits, outdir=out)
        texts = {}
        for name in self._names:
            path = out / "stages" / f"{name}.mlir"
            texts[name] = (
                path.read_text()
                if path.exists()
                else f"// the IR of stage '{name}' was not printed: the stage worker {outcome.failure or 'stopped'}\n"
            )
        return texts

    def _crash_error(self, request: dict, limits: Limits, outcome: _Outcome) -> CompileError:
        """The error for a child that died or was killed; replays the failing stage for a reproducer."""
        out = Path(request["outdir"])
        stage, step = _last_steps(out / "progress")
        why = outcome.failure or "exited without a result"
        message = f"the compiler {why}"
        if step:
            message += f" in {step}"
        stderr = _tail(self.directory / "stderr")
        if stderr:
            message += f"\n{stderr}"
        if stage in (None, "parse", "write"):
            return CompileError(stage or "parse", message)
        # Second run: stop at the failing stage, save its input, replay it step by step.
        replay = self.directory / "replay"
        temps = (
            Path(request["temps"])
            if request.get("temps")
            else Path(tempfile.mkdtemp(prefix="pattern-mlir-repro-"))
        )
        reproducer = temps / f"{stage}.input.mlir"
        replay_request = dict(
            request, outdir=str(replay / "out"), stop_before=stage, reproducer=str(reproducer)
        )
        replayed = _watch(self._spawn(replay), replay_request, limits)
        _, replay_step = _last_steps(replay / "out" / "progress")
        if replay_step and replay_step != step and replayed.failure:
            message = f"the compiler {replayed.failure} in {replay_step}" + (
                f"\n{stderr}" if stderr else ""
            )
        if not reproducer.exists():
            return CompileError(stage, message)
        from .stage_worker import stages_for

        command = next(s for s in stages_for(request) if s.name == stage).command(str(reproducer))
        return CompileError(stage, message, str(reproducer), command)


@dataclass
class _Outcome:
    failure: str | None  # None: the child exited normally
    peak_rss: int


def _watch(
    process: subprocess.Popen,
    request: dict | None,
    limits: Limits,
    report=None,
    until_result: bool = False,
    outdir: Path | None = None,
) -> _Outcome:
    """Sends `request` (None: it was sent) and waits for the child, killing it past the limits;
    `report(stage)` is called as each stage starts. With `until_result`, returns as soon as
    the child's result.json exists (it goes on printing the stage texts)."""
    request = request or {"outdir": str(outdir)}
    Path(request["outdir"]).mkdir(parents=True, exist_ok=True)
    progress = _ProgressReader(Path(request["outdir"]) / "progress", report)
    if "target" in request:
        try:
            process.stdin.write((json.dumps(request) + "\n").encode())
            process.stdin.close()
        except BrokenPipeError:
            pass  # it died while starting; its exit status says how
    start, peak = time.monotonic(), 0
    result = Path(request["outdir"]) / "result.json"
    while True:
        try:
            code = process.wait(_POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            pass
        if until_result and result.exists():
            return _Outcome(None, peak)
        progress.poll()
        rss = rss_bytes(process.pid)
        peak = max(peak, rss)
        if rss > limits.memory_bytes:
            _kill(process)
            return _Outcome(
                f"used more than its memory limit ({limits.memory_bytes / 2**30:.1f} GiB; "
                "CompileOptions.memory_limit_gb)",
                peak,
            )
        if time.monotonic() - start > limits.seconds:
            _kill(process)
            return _Outcome(
                f"did not finish within its time limit ({limits.seconds:g} s; CompileOptions.timeout_s)",
                peak,
            )
    if code == 0:
        return _Outcome(None, peak)
    if code < 0:
        name = (
            signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        )
        return _Outcome(f"crashed ({name})", peak)
    return _Outcome(f"exited with status {code}", peak)


class _ProgressReader:
    """Follows a worker's progress file, passing each new stage to `report`."""

    def __init__(self, path: Path, report) -> None:
        self.path, self.report, self.offset = path, report, 0

    def poll(self) -> None:
        if self.report is None or not self.path.exists():
            return
        with open(self.path) as progress:
            progress.seek(self.offset)
            text = progress.read()
        complete = text[: text.rfind("\n") + 1]
        self.offset += len(complete.encode())
        for line in complete.splitlines():
            if line.startswith("stage "):
                self.report(line.split(" ", 1)[1])


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the child and anything it started
        process.wait()


def _last_steps(progress: Path) -> tuple[str | None, str | None]:
    """(stage, step) of the last lines of a progress file: the step is a pass or an op, if noted
    after the stage began."""
    if not progress.exists():
        return None, None
    stage, step = None, None
    for line in progress.read_text().splitlines():
        kind, _, what = line.partition(" ")
        if kind == "stage":
            stage, step = what, None
        elif kind == "pass":
            step = f"pass '{what}'"
        elif kind == "op":
            step = f"op {what}"
    return stage, step


def _tail(path: Path) -> str:
    text = path.read_text(errors="replace").strip() if path.exists() else ""
    return text[-_STDERR_TAIL:]
