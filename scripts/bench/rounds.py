"""Run the peers of one subject one after another (A B A B ...), check outputs, rerun noise.

Every round runs each peer once in a fresh process (all thread counts in that process, one
after the other). A subject gets further rounds while some point's round medians disagree by
more than ``noise`` (``timing.spread``). Outputs of the first round are checked against torch's
NCHW output at one thread. Before each round, or before each process where a process lasts
minutes (whole models: one wait per round would say little about the later processes), the
orchestrator waits a bounded time for other jobs to leave the cores idle. Where a subject may
be beyond a dense peer (an exporter or converter gap on a model), that peer is recorded as
failed and left out rather than ending the run.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .checks import check_outputs
from .idle import wait_for_quiet
from .process import run_worker_process
from .timing import spread

__all__ = ["RoundPlan", "run_rounds"]


@dataclass(frozen=True)
class RoundPlan:
    """How one benchmark runs the rounds of a subject."""

    common: list[str]  # worker arguments of every process (subject, threads, runs, ...)
    extra: Callable[[str, bool], list[str]]  # (peer, first round) -> further arguments
    timeout: Callable[[str], float]  # peer -> seconds its process may take
    wait_each_process: bool = False  # else once per round
    drop_failing: bool = False  # a dense peer that fails in round 1 is left out


def _head_and_tail(error: RuntimeError, tail: int = 3000) -> str:
    """Which process failed and how (the first line, the report's note) and the output's end."""
    head, _, rest = str(error).partition("\n")
    return f"{head}\n{rest[-tail:]}"


def _round_line(
    name: str, n: int, seconds: float, load: list, busy: list, k: int, each: bool
) -> str:
    if each:
        return (
            f"  {name} round {n}: {seconds:.0f} s, load {min(load[-k:]):.1f} to {max(load[-k:]):.1f}, "
            f"{min(busy[-k:]):.1f} to {max(busy[-k:]):.1f} cores busy before a process"
        )
    return f"  {name} round {n}: {seconds:.1f} s, load {load[-1]:.2f}, {busy[-1]:.2f} cores busy before"


def run_rounds(name: str, peers: list[str], plan: RoundPlan, opts, log=print) -> dict:
    """All rounds of one subject: {"rounds": [{peer: result}], "checks", "load", "busy", ...}."""
    save_dir = Path(opts.workdir) / "outputs"
    shutil.rmtree(save_dir, ignore_errors=True)
    peers, failed = list(peers), {}
    rounds, load, busy, checks = [], [], [], {}
    while True:
        t0, this, first = time.perf_counter(), {}, not rounds
        if not plan.wait_each_process:
            busy.append(wait_for_quiet(opts.max_busy, opts.max_wait)[0])
            load.append(os.getloadavg()[0])
        for peer in list(peers):
            if plan.wait_each_process:
                load.append(os.getloadavg()[0])
                busy.append(wait_for_quiet(opts.max_busy, opts.max_wait)[0])
            extra = (["--save-dir", str(save_dir)] if first else []) + plan.extra(peer, first)
            try:
                this[peer] = run_worker_process(
                    f"bench.peers.{peer}", plan.common + extra, plan.timeout(peer)
                )
            except RuntimeError as error:
                if not (plan.drop_failing and first) or peer in ("pattern", "torch"):
                    raise
                failed[peer] = _head_and_tail(error)
                peers.remove(peer)
                log(f"  {name}: {peer} failed, left out:\n{failed[peer][-800:]}")
        if first:
            checks = check_outputs(name, save_dir)
            shutil.rmtree(save_dir)
        rounds.append(this)
        spreads = {f"{p}/t{t}": spread(rounds, p, t) for p in peers for t in this[p]["samples"]}
        worst = max(spreads, key=spreads.get)
        line = _round_line(
            name,
            len(rounds),
            time.perf_counter() - t0,
            load,
            busy,
            len(peers),
            plan.wait_each_process,
        )
        log(f"{line}, widest spread {worst} {spreads[worst]:.0%}")
        if len(rounds) >= opts.rounds and (
            spreads[worst] <= opts.noise or len(rounds) >= opts.max_rounds
        ):
            failures = {"failed": failed} if plan.drop_failing else {}
            return {
                "rounds": rounds,
                "checks": checks,
                **failures,
                "load": load,
                "busy": busy,
                "spread": spreads,
            }
