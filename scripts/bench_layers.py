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

from bench_peers.layers import LAYERS
from bench_peers.machine import describe_machine
from bench_peers.measure import PEERS, run_layer, run_process

ROOT = Path(__file__).resolve().parent.parent


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", default=",".join(LAYERS), help="comma-separated layer names")
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=20, help="timed runs per process (>= 20)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2, help="rounds of A B A B per layer")
    ap.add_argument("--max-rounds", type=int, default=3, help="while round medians disagree")
    ap.add_argument("--noise", type=float, default=0.10, help="round medians' max/min - 1")
    ap.add_argument("--max-busy", type=float, default=0.3, help="cores others may use ...")
    ap.add_argument("--max-wait", type=float, default=5, help="... or wait up to this (s)")
    ap.add_argument("--patterns", type=int, default=8)
    ap.add_argument("--connectivity", type=float, default=3.6)
    ap.add_argument("--tune", action="store_true", help="tune the pattern conv's schedule")
    ap.add_argument("--target", default="host",
                    help="the pattern conv's x86 target: host, x86-64-v3 (AVX2; runs on AVX-512 hosts too) "
                         "or x86-64-v4; the FMA peak is measured for it"),
    ap.add_argument("--no-mca", action="store_true", help="skip the arm64 llvm-mca report")
    ap.add_argument("--workdir", default="/tmp/bench_layers")
    ap.add_argument("--results", default="", help="raw JSON (default: WORKDIR/results.json)")
    ap.add_argument("--md", default=str(ROOT / "docs" / "bench_layers.md"))
    ap.add_argument("--png", default=str(ROOT / "docs" / "bench_layers.png"))
    ap.add_argument("--render-only", action="store_true")
    ap.add_argument(
        "--update",
        action="store_true",
        help="re-measure --layers into the saved results, keep the other layers (noisy points)",
    )
    args = ap.parse_args()
    args.peers = args.peers.split(",")
    if args.peers[:2] != ["pattern", "torch"]:
        ap.error("--peers must start with pattern,torch (torch gives the reference output)")
    args.results = Path(args.results or Path(args.workdir) / "results.json")
    return args


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
    results["peak"].append(run_process("fma_peak", peak_args))
    names = args.layers.split(",")
    for i, name in enumerate(names):
        print(f"{name} ({LAYERS[name].shape_text()})", flush=True)
        results["layers"][name] = run_layer(name, args, log=lambda s: print(s, flush=True))
        if i == len(names) // 2:  # the peak is a best-seen figure: one more chance mid-run
            results["peak"].append(run_process("fma_peak", peak_args))
    results["peak"].append(run_process("fma_peak", peak_args))
    if run_mca:
        mca_args = ["--layers", args.layers, "--patterns", str(args.patterns)]
        mca_args += ["--connectivity", str(args.connectivity)]
        results["mca"] = run_process("neon_mca", mca_args)["layers"]
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
    from bench_peers.report_md import render_markdown
    from bench_peers.summary import summarise

    summary = summarise(results)
    text = render_markdown(summary, results["meta"])
    print(text)
    if args.md:
        Path(args.md).write_text(text)
    if args.png:
        from bench_peers.report_png import plot

        plot(summary, args.png)


if __name__ == "__main__":
    main()
