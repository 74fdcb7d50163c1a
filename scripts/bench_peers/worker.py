"""What every peer process shares: arguments, the timing loop, saving outputs, the JSON line.

A peer module supplies ``setup(data, threads, args) -> {variant: fn}`` (each ``fn()`` runs
the layer once and returns its output in the runtime's own type) and ``as_array`` to turn such
an output into numpy for the correctness check. Variants of one peer (e.g. torch NCHW and
channels_last) are timed interleaved, so the choice of the faster one is not a load artefact.
Thread counts run one after another, each set up right before it is timed.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .layers import LAYERS, LayerData, make_layer

__all__ = ["RESULT_TAG", "run_worker", "time_variants"]

RESULT_TAG = "BENCH_RESULT "  # marks the JSON line among whatever a runtime prints itself


def _parse(description: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--layer", required=True, choices=sorted(LAYERS))
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--runs", type=int, default=20, help="timed runs per variant")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--patterns", type=int, default=8)
    ap.add_argument("--connectivity", type=float, default=3.6)
    ap.add_argument("--workdir", default="/tmp/bench_layers", help="model files (ONNX, MNN)")
    ap.add_argument("--save-dir", default="", help="write each variant's output here as .npy")
    ap.add_argument("--tune", action="store_true", help="pattern peer: measure schedules first")
    ap.add_argument("--target", default="host", help="pattern peer: an x86 target this CPU runs")
    return ap.parse_args()


def time_variants(fns: dict[str, Callable[[], object]], warmup: int, runs: int) -> tuple:
    """(wall ms, process CPU ms) per run of each variant, variants interleaved run by run.

    CPU time is what the run cost this process: on a loaded machine it leaves out the time the
    scheduler gave to other jobs, so at one thread it estimates the quiet-machine wall time.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            t1, c1 = time.perf_counter(), time.process_time()
            wall[name].append((t1 - t0) * 1e3)
            cpu[name].append((c1 - c0) * 1e3)
    return wall, cpu


def run_worker(
    peer: str,
    description: str,
    setup: Callable[[LayerData, int, argparse.Namespace], dict[str, Callable[[], object]]],
    as_array: Callable[[object], np.ndarray] = np.asarray,
    info: Callable[[], dict] | None = None,
) -> None:
    """Parse the command line, time every variant at every thread count, print the JSON line."""
    args = _parse(description)
    data = make_layer(args.layer, args.patterns, args.connectivity)
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    result = {"peer": peer, "layer": args.layer, "samples": {}, "cpu_samples": {}, "setup_s": {}}
    for threads in (int(t) for t in args.threads.split(",")):
        t0 = time.perf_counter()
        fns = setup(data, threads, args)
        result["setup_s"][threads] = time.perf_counter() - t0
        if args.save_dir:
            out = Path(args.save_dir)
            out.mkdir(parents=True, exist_ok=True)
            for name, fn in fns.items():
                y = np.asarray(as_array(fn()), dtype=np.float32)
                np.save(out / f"{args.layer}.{peer}.{name}.t{threads}.npy", y)
        wall, cpu = time_variants(fns, args.warmup, args.runs)
        result["samples"][threads], result["cpu_samples"][threads] = wall, cpu
    result["kept_macs"] = data.kept_macs
    result["info"] = info() if info else {}
    print(RESULT_TAG + json.dumps(result), flush=True)
