"""What every model worker process shares: arguments, loading the input, timing, the JSON line.

The whole-model twin of ``bench_peers.worker`` (whose argument parser knows only layers): a
runtime module supplies ``setup(files, x, threads, args) -> {variant: fn}`` and the timing
loop, the output files and the result line are ``bench_peers``' own, so both benchmarks time
and check the same way. Output files are named ``<model>.<peer>.<variant>.t<threads>.npy``,
the naming ``bench_peers.measure.check_outputs`` reads.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from bench_peers.worker import RESULT_TAG, time_variants

from .files import Prepared

__all__ = ["run_model_worker"]

Setup = Callable[[Prepared, np.ndarray, int, argparse.Namespace], dict[str, Callable[[], object]]]


def _parse(description: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--runs", type=int, default=20, help="timed runs per variant")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--root", required=True, help="the prepared model's directory")
    ap.add_argument("--target", default="host", help="pattern-mlir's target (an x86 target this CPU runs)")
    ap.add_argument("--save-dir", default="", help="write each variant's output here as .npy")
    ap.add_argument(
        "--compile", action="store_true", help="pattern-mlir: compile (else reload round 1's)"
    )
    return ap.parse_args()


def run_model_worker(
    peer: str,
    description: str,
    setup: Setup,
    as_array: Callable[[object], np.ndarray] = np.asarray,
    info: Callable[[], dict] | None = None,
) -> None:
    """Time every variant at every thread count and print the tagged JSON line."""
    args = _parse(description)
    files = Prepared(args.model, Path(args.root))
    if not files.ready:
        raise SystemExit(f"{files.root} is not prepared; run bench_models_lib.prepare first")
    x = np.load(files.input)
    result = {"peer": peer, "model": args.model, "samples": {}, "cpu_samples": {}, "setup_s": {}}
    for threads in (int(t) for t in args.threads.split(",")):
        t0 = time.perf_counter()
        fns = setup(files, x, threads, args)
        result["setup_s"][threads] = time.perf_counter() - t0
        if args.save_dir:
            out = Path(args.save_dir)
            out.mkdir(parents=True, exist_ok=True)
            for name, fn in fns.items():
                y = np.asarray(as_array(fn()), dtype=np.float32)
                np.save(out / f"{args.model}.{peer}.{name}.t{threads}.npy", y)
        wall, cpu = time_variants(fns, args.warmup, args.runs)
        result["samples"][threads], result["cpu_samples"][threads] = wall, cpu
        del fns  # one thread count's runtime state at a time (VGG-16 holds GBs)
    result["info"] = info() if info else {}
    print(RESULT_TAG + json.dumps(result), flush=True)
