"""Quick single-layer speed check of the generated pattern conv against torch's dense conv.

Useful GFLOP/s = 2 x kept MACs / time. Not the benchmark protocol of docs/design.md section 9 (that runs
each peer in its own process); this is for tuning the code generator.

    PYTHONPATH=python .venv/bin/python scripts/bench_conv_kernel.py --layer vgg_conv3_2
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from pattern_mlir.backend.host_jit import PatternConvKernel
from pattern_mlir.codegen import Schedule, csr_nbytes, default_schedule, fkw_nbytes
from pattern_mlir.codegen.synthetic import random_layer, random_library

LAYERS = {  # name: (C, O, H, W, stride, padding)
    "vgg_conv3_2": (256, 256, 56, 56, 1, 1),
    "vgg_conv1_2": (64, 64, 224, 224, 1, 1),
    "resnet_3x3_64": (64, 64, 56, 56, 1, 1),
    "vgg_conv4_2": (512, 512, 28, 28, 1, 1),
    "vgg_conv5_2": (512, 512, 14, 14, 1, 1),
}


def neon_mca(c, o, h, w, stride, pad, lib) -> None:
    """Static estimate of the NEON inner loop: FMA bound vs llvm-mca cycles per iteration."""
    import re
    import subprocess
    from pathlib import Path

    import llvm
    import mlir
    from pattern_mlir.backend.host_jit import LOWERING_PIPELINE
    from pattern_mlir.codegen import ConvGeometry, emit_conv, plan_conv

    plan = plan_conv(ConvGeometry.make(c, o, h, w, stride, pad), lib, target="arm64-neon")
    mlir_bin = Path(next(iter(mlir.__path__))) / "bin"
    llvm_bin = Path(next(iter(llvm.__path__))) / "bin"
    lowered = subprocess.run(
        [mlir_bin / "mlir-opt", f"--pass-pipeline={LOWERING_PIPELINE}"],
        input=emit_conv(plan),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ll = subprocess.run(
        [mlir_bin / "mlir-translate", "--mlir-to-llvmir"],
        input=lowered,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    asm = subprocess.run(
        [llvm_bin / "llc", "-O3", "-mtriple=aarch64-linux-gnu", "-mcpu=cortex-a76", "-o", "-"],
        input=ll,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    blocks, cur = [], []
    for line in asm.splitlines():
        if not line.startswith("\t") and line.split(maxsplit=1)[0].endswith(":"):
            blocks.append(cur)
            cur = []
        elif line.startswith("\t") and not line.strip().startswith("."):
            cur.append(line)
    blocks.append(cur)
    body = max(blocks, key=lambda b: sum("fmla" in x for x in b))
    fmla = sum("fmla" in x for x in body)
    print(f"schedule {plan.schedule}")
    print(f"hottest loop: {len(body)} instructions, {fmla} fmla (FMA bound {fmla / 2:.1f} cycles)")
    for cpu in ("neoverse-n1", "cortex-a76"):
        out = subprocess.run(
            [llvm_bin / "llvm-mca", "-mtriple=aarch64", f"-mcpu={cpu}", "-iterations=200"],
            input="\n".join(body) + "\n",
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        cycles = int(re.search(r"Total Cycles:\s+(\d+)", out).group(1)) / 200
        print(
            f"llvm-mca {cpu:12s}: {cycles:.1f} cycles/iteration, {fmla / 2 / cycles:.0%} of FMA bound"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layer", default="vgg_conv3_2", choices=sorted(LAYERS))
    ap.add_argument("--patterns", type=int, default=8)
    ap.add_argument("--connectivity", type=float, default=3.6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--tune", action="store_true", help="measure candidate schedules first")
    ap.add_argument(
        "--neon-mca",
        action="store_true",
        help="instead: compile the layer for arm64-neon (llc -mcpu=cortex-a76) and estimate its "
        "hottest loop with llvm-mca (neoverse-n1 and cortex-a76 models)",
    )
    ap.add_argument(
        "--schedule", default="", help="overrides, e.g. tile_rows=4,tile_cols=64,prefetch=2"
    )
    args = ap.parse_args()

    c, o, h, w, stride, pad = LAYERS[args.layer]
    rng = np.random.default_rng(0)
    lib = random_library(args.patterns, rng)
    if args.neon_mca:
        neon_mca(c, o, h, w, stride, pad, lib)
        return
    weights, assignment = random_layer(o, c, lib, args.connectivity, rng)
    bias = rng.standard_normal(o).astype(np.float32)
    x = rng.standard_normal((1, c, h, w)).astype(np.float32)

    ho = (h + 2 * pad - 3) // stride + 1
    wo = (w + 2 * pad - 3) // stride + 1
    sched = default_schedule(ho, wo, in_channels=c)
    if args.schedule:
        fields = dict(kv.split("=") for kv in args.schedule.split(","))
        kw = {k: (v if k == "loop_order" else int(v)) for k, v in fields.items()}
        sched = Schedule(**{**sched.__dict__, **kw})
    sched = Schedule(**{**sched.__dict__, "threads": args.threads})

    def compile_layer(schedule: Schedule) -> PatternConvKernel:
        return PatternConvKernel(
            weights,
            lib,
            assignment,
            bias,
            stride=stride,
            padding=pad,
            schedule=schedule,
            num_threads=args.threads,
            input_size=(h, w),
        )

    t0 = time.perf_counter()
    kern = compile_layer(sched)
    compile_s = time.perf_counter() - t0
    if args.tune:
        from pattern_mlir.tuning import layer_from_arrays, tune_alone

        result = tune_alone(
            layer_from_arrays(weights, lib, assignment, h, w, stride, pad), budget_s=60.0
        )
        sched = result.schedule
        print(
            f"tune: {result.ms:7.3f} ms (default {result.default_ms:.3f} ms, {result.evaluations} "
            f"schedules)  {sched}"
        )
        kern = compile_layer(sched)
    packed = kern.packed
    kept_macs = packed.num_kernels * packed.taps_per_kernel * ho * wo
    dense_macs = o * c * 9 * ho * wo

    y = kern(x)
    out = np.empty_like(y)
    runs = {
        "pattern kernel only": lambda: kern.run_padded(h, w, out),
        "pattern with padding": lambda: kern(x),
    }
    err = None
    if not args.no_torch:
        import torch

        torch.set_num_threads(args.threads)
        xt, wt, bt = torch.from_numpy(x), torch.from_numpy(weights), torch.from_numpy(bias)

        def dense():
            with torch.no_grad():
                return torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=pad)

        ref = dense().numpy()
        err = np.linalg.norm(y - ref) / np.linalg.norm(ref)
        runs["torch dense conv"] = dense
    # Interleave the runtimes (A B A B ...) so background load hits them alike.
    samples = {name: [] for name in runs}
    for _ in range(3):
        for fn in runs.values():
            fn()
    for _ in range(args.repeat):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - t0) * 1e3)

    print(
        f"layer {args.layer} C={c} O={o} {h}x{w} s{stride} p{pad}; {args.patterns} patterns x "
        f"connectivity {args.connectivity}: {dense_macs / kept_macs:.2f}x fewer MACs; "
        f"{args.threads} thread(s)"
    )
    print(
        f"schedule {sched}; compile {compile_s:.2f} s; "
        f"FKW {fkw_nbytes(packed)} B vs CSR {csr_nbytes(packed)} B"
    )
    best = {}
    for name, ts in samples.items():
        lo, med = min(ts), statistics.median(ts)
        best[name] = lo
        macs = dense_macs if name.startswith("torch") else kept_macs
        kind = "dense" if name.startswith("torch") else "useful"
        print(
            f"{name:21s}: min {lo:8.3f} ms ({2 * macs / lo / 1e6:6.1f} {kind} GFLOP/s), "
            f"median {med:8.3f} ms ({2 * macs / med / 1e6:6.1f})"
        )
    if err is not None:
        t = best["torch dense conv"]
        print(
            f"speedup over torch (min times): {t / best['pattern with padding']:.2f}x with padding, "
            f"{t / best['pattern kernel only']:.2f}x kernel only; rel L2 err vs torch {err:.1e}"
        )


if __name__ == "__main__":
    main()
