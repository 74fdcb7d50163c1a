"""Run the runtimes of one model one after another (A B A B ...), check outputs, rerun noise.

The model twin of ``bench_peers.measure.run_layer``, with what whole models need beyond it:
workers live in this package, pattern-mlir compiles in the first round and reloads later,
timeouts fit minutes-long compiles, and a runtime that fails on a model (an exporter or
converter gap) is recorded and left out rather than ending the run. Before every process the
orchestrator waits, a bounded time, for other jobs to leave the cores idle: a round of VGG-16
lasts minutes, so one wait per round would say little about the later processes. The machine's
memory is shared too: a process is stopped when less than ``MIN_AVAILABLE_GIB`` stays
available (compiling VGG-16 takes about 10 GB, its arm64 build more), rather than letting the
kernel's OOM killer pick some colleague's job.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench_peers.idle import wait_for_quiet
from bench_peers.measure import _spread, check_outputs
from bench_peers.worker import RESULT_TAG

from .peers import python_for

__all__ = ["run_model", "run_module"]

SCRIPTS = Path(__file__).resolve().parent.parent
# Seconds a process may take: pattern-mlir compiles both thread counts in round 1 (VGG-16:
# minutes on a loaded machine), arm64 adds opt + llc over the weights and a qemu run.
TIMEOUT = {"pattern_model": 3600, "arm64_model": 3600, "prepare": 1800}
MIN_AVAILABLE_GIB = 1.5


def available_gib() -> float:
    with open("/proc/meminfo") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["MemAvailable"].split()[0]) / 2**20


def run_module(module: str, args: list[str]) -> dict:
    """``python -m bench_models_lib.<module> args`` in a fresh process; its tagged JSON line.

    The process gets a session of its own, so that stopping it (timeout, low memory) also
    stops its children (the torch-mlir importer, opt, llc, qemu) and nothing else. A worker
    whose runtime lives in another venv (LiteRT) runs with that venv's interpreter.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SCRIPTS), env.get("PYTHONPATH")]))
    python = python_for(module) or sys.executable
    proc = subprocess.Popen(
        [python, "-m", f"bench_models_lib.{module}", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    deadline, why = time.monotonic() + TIMEOUT.get(module, 1200), ""
    while True:
        try:
            out, err = proc.communicate(timeout=2)
            break
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                why = f"timed out after {TIMEOUT.get(module, 1200)} s"
            elif available_gib() < MIN_AVAILABLE_GIB:
                why = f"stopped: less than {MIN_AVAILABLE_GIB} GiB of the machine's memory left"
            if why:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
                break
    for line in out.splitlines():
        if line.startswith(RESULT_TAG) and not why:
            return json.loads(line[len(RESULT_TAG) :])
    raise RuntimeError(
        f"{module} failed ({why or f'exit {proc.returncode}'}); arguments: {' '.join(args)}\n"
        f"{out[-2000:]}\n{err[-4000:]}"
    )


def _head_and_tail(error: RuntimeError, tail: int = 3000) -> str:
    """Which process failed and how (the first line, the report's note) and the output's end."""
    head, _, rest = str(error).partition("\n")
    return f"{head}\n{rest[-tail:]}"


def worker_args(model: str, root) -> list[str]:
    return ["--model", model, "--root", str(root)]


def run_model(model: str, root, opts, log=print) -> dict:
    """All rounds of one model: {"rounds": [{peer: result}], "checks", "failed", "busy", ...}."""
    save_dir = Path(opts.workdir) / "outputs"
    shutil.rmtree(save_dir, ignore_errors=True)
    common = worker_args(model, root) + ["--threads", opts.threads, "--runs", str(opts.runs)]
    common += ["--warmup", str(opts.warmup), "--target", opts.target]
    peers, failed = list(opts.peers), {}
    rounds, load, busy, checks = [], [], [], {}
    while True:
        t0, this, first = time.perf_counter(), {}, not rounds
        for peer in list(peers):
            load.append(os.getloadavg()[0])
            extra = ["--save-dir", str(save_dir)] if first else []
            if peer == "pattern" and first:
                extra.append("--compile")
            busy.append(wait_for_quiet(opts.max_busy, opts.max_wait)[0])
            try:
                this[peer] = run_module(f"{peer}_model", common + extra)
            except RuntimeError as error:
                if not first or peer in ("pattern", "torch"):
                    raise
                failed[peer] = _head_and_tail(error)  # a dense peer that cannot run this model
                peers.remove(peer)
                log(f"  {model}: {peer} failed, left out:\n{failed[peer][-800:]}")
        if first:
            checks = check_outputs(model, save_dir)
            shutil.rmtree(save_dir)
        rounds.append(this)
        spreads = {f"{p}/t{t}": _spread(rounds, p, t) for p in peers for t in this[p]["samples"]}
        worst = max(spreads, key=spreads.get)
        log(
            f"  {model} round {len(rounds)}: {time.perf_counter() - t0:.0f} s, "
            f"load {min(load[-len(peers) :]):.1f} to {max(load[-len(peers) :]):.1f}, "
            f"{min(busy[-len(peers) :]):.1f} to {max(busy[-len(peers) :]):.1f} cores busy before "
            f"a process, widest spread {worst} {spreads[worst]:.0%}"
        )
        if len(rounds) >= opts.rounds and (
            spreads[worst] <= opts.noise or len(rounds) >= opts.max_rounds
        ):
            return {
                "rounds": rounds,
                "checks": checks,
                "failed": failed,
                "load": load,
                "busy": busy,
                "spread": spreads,
            }
