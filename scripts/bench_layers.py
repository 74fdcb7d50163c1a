"""Layer benchmark: pattern-mlir's CPU pattern conv against dense peers (issue 4 item 4).

Every VGG-16 conv at 224x224 and ResNet-50's 3x3 convs, pattern-pruned (8 patterns x
connectivity 3.6 by default), run by pattern-mlir and densely by PyTorch, ONNX Runtime and MNN,
following the protocol of docs/design.md section 9: each runtime in its own fresh process, one after another
(A B A B ...), warm-up, median of >= 20 runs, 1 and 2 threads, outputs checked against torch.
Also measured: the FMA peak of this machine and llvm-mca estimates of the arm64 inner loops.
Writes the raw results (JSON), docs/bench_layers.md and docs/bench_layers.png.

    .venv/bin/python scripts/bench_layers.py                 # everything (~15-25 min)
    .venv/bin/python scripts/bench_layers.py --layers vgg_conv3_2 --md '' --png ''
    .venv/bin/python scripts/bench_layers.py --render-only   # redraw from the saved JSON

Peers need requirements-bench.txt installed; tests do not.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench.cli import add_output_options, add_round_options, check_common, write_report
from bench.layer.layers import LAYERS
from bench.machine import describe_machine
from bench.peer_facts import LAYER_PEERS
from bench.process import run_worker_process
from bench.rounds import RoundPlan, run_rounds


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", default=",".join(LAYERS), help="comma-separated layer names")
    ap.add_argument("--peers", default=",".join(LAYER_PEERS))
    add_round_options(ap, "layer", max_rounds=3, max_wait=5)
    ap.add_argument("--tune", action="store_true", help="tune the pattern conv's schedule")
    ap.add_argument(
        "--target",
        default="host",
        help="the pattern conv's x86 target: host, x86-64-v3 (AVX2; runs on AVX-512 hosts too) "
        "or x86-64-v4; the FMA peak is measured for it",
    )
    ap.add_argument("--no-mca", action="store_true", help="skip the arm64 llvm-mca report")
    add_output_options(ap, "bench_layers")
    ap.add_argument(
        "--update",
        action="store_true",
        help="re-measure --layers into the saved results, keep the other layers (noisy points)",
    )
    return check_common(ap, ap.parse_args())


def run_layer(name: str, args: argparse.Namespace) -> dict:
    """All rounds of one layer; a layer's processes are short, so one idle wait per round."""
    common = ["--layer", name, "--threads", args.threads, "--runs", str(args.runs)]
    common += ["--warmup", str(args.warmup), "--workdir", args.workdir]
    common += ["--patterns", str(args.patterns), "--connectivity", str(args.connectivity)]
    common += ["--target", args.target]
    plan = RoundPlan(
        common,
        extra=lambda peer, first: ["--tune"] if peer == "pattern" and args.tune else [],
        timeout=lambda peer: 600,
    )
    return run_rounds(name, args.peers, plan, args, log=lambda s: print(s, flush=True))


def measure(args: argparse.Namespace) -> dict:
    start = time.perf_counter()
    command = shlex.join(["scripts/bench_layers.py", *sys.argv[1:]])
    if args.update:
        results = json.loads(args.results.read_text())
        results["meta"]["commands"].append(command)
        results["meta"]["updated"] = describe_machine()["date"]
        run_mca = not args.no_mca and "mca" not in results
    else:
        results = {"meta": describe_machine(), "peak": [], "layers": {}}
        results["meta"]["commands"] = [command]
        from pattern_mlir.target import resolve_target

        results["meta"]["target"] = resolve_target(args.target).describe()
        run_mca = not args.no_mca
    results["meta"]["settings"] = {
        k: getattr(args, k)
        for k in (
            "patterns",
            "connectivity",
            "runs",
            "warmup",
            "rounds",
            "max_rounds",
            "noise",
            "max_busy",
            "max_wait",
        )
    }
    results["meta"]["settings"]["tune"] = args.tune
    results["meta"].setdefault("duration_s", 0.0)
    peak_args = ["--threads", args.threads, "--target", args.target]
    results["peak"].append(run_worker_process("bench.fma_peak", peak_args))
    names = args.layers.split(",")
    for i, name in enumerate(names):
        print(f"{name} ({LAYERS[name].shape_text()})", flush=True)
        results["layers"][name] = run_layer(name, args)
        if i == len(names) // 2:  # the peak is a best-seen figure: one more chance mid-run
            results["peak"].append(run_worker_process("bench.fma_peak", peak_args))
    results["peak"].append(run_worker_process("bench.fma_peak", peak_args))
    if run_mca:
        mca_args = ["--layers", args.layers, "--patterns", str(args.patterns)]
        mca_args += ["--connectivity", str(args.connectivity)]
        results["mca"] = run_worker_process("bench.layer.neon_mca", mca_args)["layers"]
    results["meta"]["load_end"] = os.getloadavg()
    results["meta"]["duration_s"] += time.perf_counter() - start
    return results


def main() -> None:
    args = _args()
    if args.render_only:
        results = json.loads(args.results.read_text())
    else:
        results = measure(args)
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results))
        print(f"raw results: {args.results}")
    from bench.layer.report_md import render_markdown
    from bench.layer.summary import summarise

    def plot(path: str) -> None:
        from bench.layer.report_png import plot as draw

        draw(summary, path)

    summary = summarise(results)
    write_report(args, render_markdown(summary, results["meta"]), plot)


if __name__ == "__main__":
    main()
