#!/usr/bin/env python3
"""What compiling each zoo model costs: wall time, peak memory, time per stage.

Each model compiles in a fresh process (so the caller's peak RSS is that compile's), at its
default input size, pattern-projected (8 patterns, connectivity 3.6), for the host at one
thread. Reported per model: parameters, wall time of `pattern_mlir.compile` (torch import
included), the stage worker's peak resident memory (sampled every 20 ms by the caller), the
caller's own peak (ru_maxrss), and the seconds of the slowest stages. Writes a Markdown table.

    .venv/bin/python scripts/compile_cost.py --out docs/compile_cost.md
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
import pattern_mlir
from pattern_mlir import models, prune
name = sys.argv[1]
model, x = models.build(name, random_bn=True)
params = sum(p.numel() for p in model.parameters())
if any(getattr(m, "kernel_size", None) == (3, 3) for m in model.modules()):
    prune.project(model, num_patterns=8, connectivity=3.6)
start = time.perf_counter()
exe = pattern_mlir.compile(model, x, options=pattern_mlir.CompileOptions(num_threads=1, progress=False))
wall = time.perf_counter() - start
print(json.dumps({"params": params, "wall": wall, "worker_rss": exe.compile_peak_rss,
                  "caller_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "stages": exe.stage_seconds}))
"""


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def isa() -> str:
    flags = next(
        (
            line
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
        ),
        "",
    )
    return "AVX-512" if " avx512f" in flags else "AVX2" if " avx2" in flags else "no AVX2"


def measure(name: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, name], capture_output=True, text=True, timeout=1800
    )
    if proc.returncode != 0:
        return {
            "error": proc.stderr.strip().splitlines()[-1]
            if proc.stderr.strip()
            else f"exit {proc.returncode}"
        }
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(results: dict[str, dict]) -> str:
    lines = [
        "| model | parameters | compile (s) | stage worker peak (GiB) | caller peak (GiB) | slowest stages (s) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"| {name} | | failed: {r['error']} | | | |")
            continue
        slow = sorted(r["stages"].items(), key=lambda kv: -kv[1])[:4]
        stages = ", ".join(f"{k} {v:.1f}" for k, v in slow)
        lines.append(
            f"| {name} | {r['params'] / 1e6:.2f} M | {r['wall']:.1f} | {r['worker_rss'] / 2**30:.2f} | "
            f"{r['caller_rss'] / 2**30:.2f} | {stages} |"
        )
    return "\n".join(lines)


def main() -> None:
    from pattern_mlir import models

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(models.MODELS))
    parser.add_argument("--out", type=Path, help="write the Markdown report here")
    args = parser.parse_args()
    results = {}
    for name in args.models:
        results[name] = measure(name)
        print(name, json.dumps(results[name]), flush=True)
    text = (
        f"# Compile cost\n\nMade by `scripts/compile_cost.py` on {cpu_name()} ({isa()}), "
        f"{len(results)} zoo models at their default input, pattern-projected where they have 3x3 convs, "
        "host target, 1 thread, each in a fresh process. `stage worker peak` is the resident memory "
        "of the process that runs the stages (docs/compiler.md), `caller peak` that of the calling "
        "process (torch, the weights, the JIT).\n\n" + table(results) + "\n"
    )
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
