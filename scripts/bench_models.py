"""Whole-model benchmark: pattern-mlir against dense runtimes on the zoo (issue 5 item 6).

VGG-16, ResNet-50, MobileNet-V2 and the three app models (style transfer, colorization,
super resolution) at their default inputs, batch 1, fp32, projected once to the headline
setting (8 patterns x connectivity 3.6); pattern-mlir runs them through
``pattern_mlir.compile``, PyTorch eager, ONNX Runtime, MNN, IREE and LiteRT densely on the same
weights.
Following the protocol of docs/design.md section 9: every runtime in its own fresh process, one after another
(A B A B ...), warm-up, median of >= 20 runs, 1 and 2 threads, outputs checked against torch.
Also recorded: compile times, and the arm64-neon build of every model (compiled, run once
under qemu, checked against torch). Writes raw JSON, docs/bench_models.md and .png.

    .venv/bin/python scripts/bench_models.py                          # everything
    .venv/bin/python scripts/bench_models.py --quick --models resnet50 --md '' --png ''
    .venv/bin/python scripts/bench_models.py --update --models vgg16  # re-measure one model
    .venv/bin/python scripts/bench_models.py --render-only            # redraw from the JSON

Peers need requirements-bench.txt installed; tests do not. LiteRT runs in .venv-litert,
which the first run asking for it sets up (``bench/peers/litert_venv.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench.cli import add_output_options, add_round_options, check_common, write_report
from bench.machine import describe_machine
from bench.model.files import ORDER, prepared
from bench.process import run_worker_process
from bench.rounds import RoundPlan, run_rounds
from bench.snapshot import activate, make_snapshot

ROOT = Path(__file__).resolve().parent.parent
# Seconds a process may take: pattern-mlir compiles both thread counts in round 1 (VGG-16:
# minutes on a loaded machine), arm64 adds opt + llc over the weights and a qemu run.
TIMEOUT = {"pattern": 3600, "arm64": 3600, "prepare": 1800}


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(ORDER), help="comma-separated zoo names")
    ap.add_argument("--quick", action="store_true", help="1 round of 10 runs, no arm64 builds")
    ap.add_argument("--peers", default="pattern,torch,ort,mnn,iree,litert")
    add_round_options(ap, "model", max_rounds=2, max_wait=10)
    ap.add_argument(
        "--block-sparsity",
        type=float,
        default=0.0,
        help="also prune every other eligible weight in 8 x 1 blocks (prune.project)",
    )
    ap.add_argument("--no-arm64", action="store_true", help="skip the arm64-neon builds")
    ap.add_argument(
        "--target",
        default="host",
        help="pattern-mlir's x86 target: host, x86-64-v3 (AVX2; runs on AVX-512 hosts too) "
        "or x86-64-v4; the FMA peak is measured for it",
    )
    add_output_options(ap, "bench_models")
    ap.add_argument("--update", action="store_true", help="re-measure --models, keep the rest")
    args = check_common(ap, ap.parse_args())
    if args.quick:
        args.rounds = args.max_rounds = 1
        args.runs, args.warmup, args.no_arm64 = 10, 1, True
    return args


def _sh(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT).stdout
    except OSError:
        return "?"


def _log(text: str) -> None:
    print(text, flush=True)


def _start(args: argparse.Namespace, commit: str) -> dict:
    command = shlex.join(["scripts/bench_models.py", *sys.argv[1:]])
    if args.update:
        results = json.loads(args.results.read_text())
        results["meta"]["commands"].append(command)
        update = {"commit": commit[:7], "models": args.models, "date": describe_machine()["date"]}
        results["meta"].setdefault("updates", []).append(update)
        return results
    meta = describe_machine()
    meta["commit"] = commit[:7]
    meta["commands"] = [command]
    if "litert" in args.peers:  # its own venv, which describe_machine does not look into
        from bench.peers.litert_venv import versions

        meta["versions"].update(versions())
    meta["uptime_start"] = _sh("uptime").strip()
    from pattern_mlir.target import resolve_target

    meta["target"] = resolve_target(args.target).describe()
    # Uncommitted work under python/ that the run leaves out (it runs a copy of the commit).
    meta["dirty"] = [
        ln[3:] for ln in _sh("git", "status", "--porcelain", "--", "python").splitlines()
    ]
    meta["duration_s"] = 0.0
    keys = (
        "patterns",
        "connectivity",
        "block_sparsity",
        "runs",
        "warmup",
        "rounds",
        "max_rounds",
        "noise",
    )
    meta["settings"] = {k: getattr(args, k) for k in (*keys, "max_busy", "max_wait", "quick")}
    return {"meta": meta, "peak": [], "prep": {}, "models": {}, "arm64": {}, "errors": {}}


def _subject(name: str, root) -> list[str]:
    return ["--model", name, "--root", str(root)]


def run_model(name: str, root, args: argparse.Namespace) -> dict:
    """All rounds of one model. A round of VGG-16 lasts minutes, so the idle wait comes before
    every process; pattern-mlir compiles in round 1 and reloads later; a dense peer beyond a
    model (an exporter or converter gap) is left out."""
    common = _subject(name, root) + ["--threads", args.threads, "--runs", str(args.runs)]
    common += ["--warmup", str(args.warmup), "--target", args.target]
    plan = RoundPlan(
        common,
        extra=lambda peer, first: ["--compile"] if peer == "pattern" and first else [],
        timeout=lambda peer: TIMEOUT.get(peer, 1200),
        wait_each_process=True,
        drop_failing=True,
    )
    return run_rounds(name, args.peers, plan, args, log=_log)


def measure(args: argparse.Namespace) -> dict:
    start = time.perf_counter()
    snapshot, commit = make_snapshot(args.workdir)
    activate(snapshot)  # before anything imports pattern_mlir, here or in a child

    results = _start(args, commit)

    def save() -> None:  # after every step: a crash late in a long run keeps what was measured
        args.results.write_text(json.dumps(results))

    args.results.parent.mkdir(parents=True, exist_ok=True)
    peak_args = ["--threads", args.threads, "--target", args.target]
    results["peak"].append(run_worker_process("bench.fma_peak", peak_args))
    names = args.models.split(",")
    roots = {
        n: prepared(args.workdir, n, args.patterns, args.connectivity, args.block_sparsity)
        for n in names
    }
    for name, files in roots.items():
        results["errors"].pop(name, None)
        try:
            if not files.ready:
                _log(f"{name}: preparing (project, reference, ONNX export)")
                prep = [
                    "--patterns",
                    str(args.patterns),
                    "--connectivity",
                    str(args.connectivity),
                    "--block-sparsity",
                    str(args.block_sparsity),
                ]
                run_worker_process(
                    "bench.model.prepare", _subject(name, files.root) + prep, TIMEOUT["prepare"]
                )
            results["prep"][name] = files.meta()
            macs = results["prep"][name]["macs"]
            _log(f"{name}: {macs['dense'] / 1e9:.2f} GMACs dense, {macs['kept'] / 1e9:.2f} kept")
            results["models"][name] = run_model(name, files.root, args)
        except RuntimeError as error:  # the report names the model that could not be measured
            results["errors"][name] = str(error)[-3000:]
            results["models"].pop(name, None)
            _log(f"{name}: FAILED\n{results['errors'][name][-1500:]}")
        save()
    results["peak"].append(run_worker_process("bench.fma_peak", peak_args))
    for name, files in roots.items():
        if args.no_arm64 or not files.ready:
            continue
        _log(f"{name}: arm64-neon build and qemu check")
        try:
            res = run_worker_process(
                "bench.peers.arm64", _subject(name, files.root), TIMEOUT["arm64"]
            )
        except RuntimeError as error:
            res = {"ok": False, "error": str(error)[-3000:], "model": name}
        results["arm64"][name] = res
        _log(f"  {'ok' if res['ok'] else 'FAILED'}: {res.get('error') or res.get('wall_s')}")
        save()
    meta = results["meta"]
    meta["load_end"], meta["uptime_end"] = os.getloadavg(), _sh("uptime").strip()
    meta["duration_s"] += time.perf_counter() - start
    save()
    _log(f"raw results: {args.results}")
    return results


def main() -> None:
    args = _args()
    results = json.loads(args.results.read_text()) if args.render_only else measure(args)
    from bench.model.report_md import render_markdown
    from bench.model.summary import summarise

    def plot(path: str) -> None:
        from bench.model.report_png import plot as draw

        draw(summary, path, results["meta"])

    summary = summarise(results)
    write_report(args, render_markdown(summary, results["meta"]), plot)


if __name__ == "__main__":
    main()
