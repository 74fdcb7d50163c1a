"""Quick single-layer speed check of the generated pattern conv against torch's dense conv.

Useful GFLOP/s = 2 x kept MACs / time. Not the benchmark protocol of BENCHMARKS.md (that runs
each peer in its own process); this is for tuning the code generator.

    PYTHONPATH=python .venv/bin/python scripts/bench_conv_kernel.py --layer vgg_conv3_2
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from pattern_mlir.codegen import Schedule, csr_nbytes, default_schedule, fkw_nbytes
from pattern_mlir.codegen.synthetic import random_layer, random_library
from pattern_mlir.runtime.host import PatternConvKernel

LAYERS = {  # name: (C, O, H, W, stride, padding)
    "vgg_conv3_2": (256, 256, 56, 56, 1, 1),
    "vgg_conv1_2": (64, 64, 224, 224, 1, 1),
    "resnet_3x3_64": (64, 64, 56, 56, 1, 1),
    "vgg_conv4_2": (512, 512, 28, 28, 1, 1),
    "vgg_conv5_2": (512, 512, 14, 14, 1, 1),
}


def median_ms(fn, repeat: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layer", default="vgg_conv3_2", choices=sorted(LAYERS))
    ap.add_argument("--patterns", type=int, default=8)
    ap.add_argument("--connectivity", type=float, default=3.6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument(
        "--schedule", default="", help="overrides, e.g. tile_rows=4,tile_cols=64,prefetch=2"
    )
    args = ap.parse_args()

    c, o, h, w, stride, pad = LAYERS[args.layer]
    rng = np.random.default_rng(0)
    lib = random_library(args.patterns, rng)
    weights, assignment = random_layer(o, c, lib, args.connectivity, rng)
    bias = rng.standard_normal(o).astype(np.float32)
    x = rng.standard_normal((1, c, h, w)).astype(np.float32)

    ho = (h + 2 * pad - 3) // stride + 1
    wo = (w + 2 * pad - 3) // stride + 1
    sched = default_schedule(ho, wo)
    if args.schedule:
        fields = dict(kv.split("=") for kv in args.schedule.split(","))
        kw = {k: (v if k == "loop_order" else int(v)) for k, v in fields.items()}
        sched = Schedule(**{**sched.__dict__, **kw})
    sched = Schedule(**{**sched.__dict__, "threads": args.threads})

    t0 = time.perf_counter()
    kern = PatternConvKernel(
        weights,
        lib,
        assignment,
        bias,
        stride=stride,
        padding=pad,
        schedule=sched,
        num_threads=args.threads,
        input_size=(h, w),
    )
    compile_s = time.perf_counter() - t0
    packed = kern.packed
    kept_macs = packed.num_kernels * packed.taps_per_kernel * ho * wo
    dense_macs = o * c * 9 * ho * wo

    y = kern(x)
    out = np.empty_like(y)
    ms_kernel = median_ms(lambda: kern.run_padded(h, w, out), args.repeat)
    ms_call = median_ms(lambda: kern(x), args.repeat)
    print(
        f"layer {args.layer} C={c} O={o} {h}x{w} s{stride} p{pad}; {args.patterns} patterns x "
        f"connectivity {args.connectivity}: {dense_macs / kept_macs:.2f}x fewer MACs"
    )
    print(
        f"schedule {sched}; compile {compile_s:.2f} s; FKW {fkw_nbytes(packed)} B vs CSR {csr_nbytes(packed)} B"
    )
    print(
        f"pattern kernel only : {ms_kernel:8.3f} ms  {2 * kept_macs / ms_kernel / 1e6:7.1f} useful GFLOP/s"
    )
    print(
        f"pattern with padding: {ms_call:8.3f} ms  {2 * kept_macs / ms_call / 1e6:7.1f} useful GFLOP/s"
    )
    if not args.no_torch:
        import torch

        torch.set_num_threads(args.threads)
        xt = torch.from_numpy(x)
        wt = torch.from_numpy(weights)
        bt = torch.from_numpy(bias)
        with torch.no_grad():
            ref = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=pad).numpy()
            ms_torch = median_ms(
                lambda: torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=pad),
                args.repeat,
            )
        err = np.linalg.norm(y - ref) / np.linalg.norm(ref)
        print(
            f"torch dense conv    : {ms_torch:8.3f} ms  {2 * dense_macs / ms_torch / 1e6:7.1f} dense GFLOP/s; "
            f"speedup {ms_torch / ms_call:.2f}x (kernel only {ms_torch / ms_kernel:.2f}x); rel L2 err {err:.1e}"
        )


if __name__ == "__main__":
    main()
