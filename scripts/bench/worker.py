"""What every worker process shares: arguments, its subject, the timing loop, outputs, the result.

A peer adapter (``peers/``) supplies a ``setup(subject, threads, args) -> {variant: fn}`` per
kind of subject it runs (each ``fn()`` runs the subject once and returns its output in the
runtime's own type) and ``as_array`` to turn such an output into numpy for the output check.
The subject is a layer (``--layer NAME``: rebuilt from its name with fixed seeds) or a prepared
zoo model (``--model NAME --root DIR``). Thread counts run one after another, each set up right
before it is timed; outputs go to ``<subject>.<peer>.<variant>.t<threads>.npy``, the naming
``checks.check_outputs`` reads.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .protocol import emit
from .timing import time_variants

__all__ = ["run_worker"]

Setup = Callable[[object, int, argparse.Namespace], dict[str, Callable[[], object]]]


def _parse(description: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--layer", help="a layer of bench.layer.layers.LAYERS")
    what.add_argument("--model", help="a zoo model prepared under --root")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--runs", type=int, default=20, help="timed runs per variant")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--save-dir", default="", help="write each variant's output here as .npy")
    ap.add_argument("--target", default="host", help="pattern peer: an x86 target this CPU runs")
    layer = ap.add_argument_group("layers")
    layer.add_argument("--patterns", type=int, default=8)
    layer.add_argument("--connectivity", type=float, default=3.6)
    layer.add_argument("--workdir", default="/tmp/bench_layers", help="model files (ONNX, MNN)")
    layer.add_argument("--tune", action="store_true", help="pattern peer: measure schedules first")
    model = ap.add_argument_group("models")
    model.add_argument("--root", help="the prepared model's directory")
    model.add_argument(
        "--compile", action="store_true", help="pattern peer: compile (else reload round 1's)"
    )
    args = ap.parse_args()
    if args.model and not args.root:
        ap.error("--model needs --root")
    return args


def _open_layer(args: argparse.Namespace):
    # Imported here: a model worker has no use for the layer definitions (they import pattern_mlir).
    from .layer.layers import LAYERS, make_layer

    if args.layer not in LAYERS:
        raise SystemExit(f"unknown layer {args.layer}; one of {', '.join(sorted(LAYERS))}")
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    return make_layer(args.layer, args.patterns, args.connectivity)


def _open_model(args: argparse.Namespace):
    from .model.files import Prepared

    files = Prepared(args.model, Path(args.root))
    if not files.ready:
        raise SystemExit(f"{files.root} is not prepared; run bench.model.prepare first")
    files.x  # noqa: B018 - loaded before the first setup, whose time is reported
    return files


def run_worker(
    peer: str,
    description: str,
    *,
    layer: Setup | None = None,
    model: Setup | None = None,
    as_array: Callable[[object], np.ndarray] = np.asarray,
    info: Callable[[], dict] | None = None,
) -> None:
    """Parse the command line, time every variant at every thread count, print the result."""
    args = _parse(description)
    kind, name = ("layer", args.layer) if args.layer else ("model", args.model)
    setup = layer if kind == "layer" else model
    if setup is None:
        raise SystemExit(f"the {peer} peer has no {kind} adapter")
    subject = _open_layer(args) if kind == "layer" else _open_model(args)
    result = {"peer": peer, kind: name, "samples": {}, "cpu_samples": {}, "setup_s": {}}
    for threads in (int(t) for t in args.threads.split(",")):
        t0 = time.perf_counter()
        fns = setup(subject, threads, args)
        result["setup_s"][threads] = time.perf_counter() - t0
        if args.save_dir:
            out = Path(args.save_dir)
            out.mkdir(parents=True, exist_ok=True)
            for variant, fn in fns.items():
                y = np.asarray(as_array(fn()), dtype=np.float32)
                np.save(out / f"{name}.{peer}.{variant}.t{threads}.npy", y)
        wall, cpu = time_variants(fns, args.warmup, args.runs)
        result["samples"][threads], result["cpu_samples"][threads] = wall, cpu
        del fns  # one thread count's runtime state at a time (VGG-16 holds GBs)
    if kind == "layer":
        result["kept_macs"] = subject.kept_macs
    result["info"] = info() if info else {}
    emit(result)
