"""Run peer processes one after another (A B A B ...), check outputs, rerun noisy points.

For each layer, every round runs each peer once in a fresh process (both thread counts in
that process, one after the other). A point's figure is the smallest per-round median (each a
median of ``runs`` >= 20 timed runs after warm-up): background load only ever slows a round
down, so the least disturbed round is the best estimate. A layer gets further rounds while
some point's round medians disagree by more than ``noise``. Outputs of the first round are
checked against torch's NCHW output at one thread. Before each round the
orchestrator waits (a bounded time) for other jobs to leave the cores idle.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .idle import wait_for_quiet
from .worker import RESULT_TAG

__all__ = ["HEADLINE", "PEERS", "check_outputs", "run_layer", "run_process"]

SCRIPTS = Path(__file__).resolve().parent.parent
PEERS = ("pattern", "torch", "ort", "mnn")
# Variant behind a peer's headline figure; None: the faster of its variants.
HEADLINE = {"pattern": "call", "torch": None, "ort": "run", "mnn": "forward", "iree": "run", "litert": "run"}
# Correctness bounds against torch: (metric, bound). "max" = max|y - ref| / max|ref|.
TOLERANCE = {"pattern": ("rel_l2", 1e-4), "torch": ("max", 1e-3), "ort": ("max", 1e-3)}
TOLERANCE["mnn"] = ("rel_l2", 1e-3)  # Winograd: about 3e-4 expected (docs/design.md section 9)
TOLERANCE["iree"] = ("max", 1e-3)
TOLERANCE["litert"] = ("max", 1e-3)  # whole models only (its converter takes a torch module)


def run_process(module: str, args: list[str], timeout: float = 600) -> dict:
    """Run ``python -m bench_peers.<module> args`` in a fresh process; its tagged JSON line."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SCRIPTS), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", f"bench_peers.{module}", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG) :])
    raise RuntimeError(
        f"bench_peers.{module} {' '.join(args)} failed (exit {proc.returncode}):\n"
        f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )


def check_outputs(layer: str, save_dir: Path) -> dict:
    """Worst error of each peer (over its variants and thread counts) against torch NCHW."""
    ref = np.load(save_dir / f"{layer}.torch.nchw.t1.npy").astype(np.float64)
    checks: dict[str, dict] = {}
    for f in sorted(save_dir.glob(f"{layer}.*.npy")):
        peer = f.name.split(".")[1]
        y = np.load(f).astype(np.float64)
        if y.shape != ref.shape:
            raise ValueError(f"{f.name}: shape {y.shape}, torch gives {ref.shape}")
        rel_l2 = float(np.linalg.norm(y - ref) / np.linalg.norm(ref))
        max_err = float(np.abs(y - ref).max() / np.abs(ref).max())
        c = checks.setdefault(peer, {"rel_l2": 0.0, "max": 0.0})
        c["rel_l2"], c["max"] = max(c["rel_l2"], rel_l2), max(c["max"], max_err)
    for peer, c in checks.items():
        metric, bound = TOLERANCE[peer]
        c["metric"], c["bound"], c["ok"] = metric, bound, c[metric] <= bound
    return checks


def _spread(rounds: list[dict], peer: str, threads: str) -> float:
    """max/min - 1 of the headline variant's per-round medians."""
    meds = []
    for r in rounds:
        samples = r[peer]["samples"][threads]
        variant = HEADLINE[peer] or min(samples, key=lambda v: statistics.median(samples[v]))
        meds.append(statistics.median(samples[variant]))
    return max(meds) / min(meds) - 1


def run_layer(layer: str, opts, log=print) -> dict:
    """All rounds of one layer: {"rounds": [{peer: result}], "checks": ..., "load": [...]}."""
    save_dir = Path(opts.workdir) / "outputs"
    common = ["--layer", layer, "--threads", opts.threads, "--runs", str(opts.runs)]
    common += ["--warmup", str(opts.warmup), "--workdir", opts.workdir]
    common += ["--patterns", str(opts.patterns), "--connectivity", str(opts.connectivity)]
    common += ["--target", opts.target]
    rounds, load, busy, checks = [], [], [], {}
    while True:
        busy.append(wait_for_quiet(opts.max_busy, opts.max_wait)[0])
        load.append(os.getloadavg()[0])
        t0, this = time.perf_counter(), {}
        for peer in opts.peers:
            extra = ["--save-dir", str(save_dir)] if not rounds else []
            if peer == "pattern" and opts.tune:
                extra.append("--tune")
            this[peer] = run_process(f"{peer}_peer", common + extra)
        if not rounds:
            checks = check_outputs(layer, save_dir)
            shutil.rmtree(save_dir)
        rounds.append(this)
        spreads = {
            f"{p}/t{t}": _spread(rounds, p, t) for p in opts.peers for t in this[p]["samples"]
        }
        worst = max(spreads, key=spreads.get)
        log(
            f"  {layer} round {len(rounds)}: {time.perf_counter() - t0:.1f} s, "
            f"load {load[-1]:.2f}, {busy[-1]:.2f} cores busy before, "
            f"widest spread {worst} {spreads[worst]:.0%}"
        )
        if len(rounds) >= opts.rounds and (
            spreads[worst] <= opts.noise or len(rounds) >= opts.max_rounds
        ):
            return {
                "rounds": rounds,
                "checks": checks,
                "load": load,
                "busy": busy,
                "spread": spreads,
            }
