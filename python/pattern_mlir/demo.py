"""`make demo`: prune, compile and run a CNN, printing accuracy, parity and speed.

1. trains (or loads from .cache/) a VGG-style CNN on Fashion-MNIST and its
   ADMM pattern-pruned copy (8 patterns, connectivity 3.6);
2. compiles the pruned model for the host CPU and for arm64 NEON;
3. runs the whole test set through the compiled host executable and a sample
   through the arm64 shared library under qemu-aarch64;
4. prints accuracy (dense, pruned in torch, compiled), parity with torch,
   speed against torch at batch 1 and what each step took.

Training runs torch's OpenMP threads with OMP_WAIT_POLICY=PASSIVE unless the caller set a
policy (the demo re-executes itself to set it, as libgomp reads it at load): on a shared
2-core machine, threads that spin at every barrier while the other one is descheduled made a
training step several times slower (measured: docs/design.md, section 10).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch
from tqdm import tqdm

import pattern_mlir
from pattern_mlir.prune import conv_costs, evaluate
from pattern_mlir.prune.fashion import train_or_load
from pattern_mlir.timing import median_ms


def _compiled_accuracy(exe, model, test_data) -> tuple[float, float, int]:
    """(accuracy, max |logit difference| to torch, number of images) over the test set."""
    correct = total = 0
    worst = 0.0
    batches = list(test_data)
    with (
        torch.no_grad(),
        tqdm(
            total=sum(len(y) for _, y in batches), desc="compiled host, test set", unit="img"
        ) as bar,
    ):
        for x, y in batches:
            reference = model(x)
            for i in range(len(y)):
                logits = exe(x[i : i + 1].contiguous())
                worst = max(worst, float((logits - reference[i : i + 1]).abs().max()))
                correct += int(logits.argmax(1).item() == y[i].item())
                total += 1
            bar.update(len(y))
    return correct / total, worst, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache", default=None, help="model cache directory (default .cache/)")
    parser.add_argument("--runs", type=int, default=50, help="timed runs per speed measurement")
    args = parser.parse_args(argv)
    demo_start = time.perf_counter()
    load_start = os.getloadavg()

    print("== 1. train (or load) and prune ==")
    start = time.perf_counter()
    trained = train_or_load(args.cache)
    train_s = time.perf_counter() - start
    dense, pruned, test_data = trained.dense, trained.pruned, trained.test_data
    dense_acc = evaluate(dense, test_data)["acc"]
    pruned_acc = evaluate(pruned, test_data)["acc"]
    x = next(iter(test_data))[0][:1].contiguous()
    costs = conv_costs(pruned, x, trained.spec)

    print("== 2. compile ==")
    torch.set_num_threads(1)
    start = time.perf_counter()
    host = pattern_mlir.compile(pruned, x, options=pattern_mlir.CompileOptions(num_threads=1))
    host_s = time.perf_counter() - start
    print(f"host: {host_s:.1f} s, {host.ir('pattern').count('pattern.conv2d ')} pattern convs")
    start = time.perf_counter()
    arm64 = pattern_mlir.compile(
        pruned, x, target="arm64-neon", options=pattern_mlir.CompileOptions(num_threads=1)
    )
    arm64_s = time.perf_counter() - start
    print(
        f"arm64-neon: {arm64_s:.1f} s, "
        f"{arm64.ir('asm').count('fmla')} fmla instructions in the shared library"
    )

    print("== 3. run ==")
    start = time.perf_counter()
    compiled_acc, worst, count = _compiled_accuracy(host, pruned, test_data)
    sample = next(iter(test_data))[0][:4]
    with torch.no_grad():
        arm_diff = max(
            float((arm64(sample[i : i + 1].contiguous()) - pruned(sample[i : i + 1])).abs().max())
            for i in range(len(sample))
        )
    run_s = time.perf_counter() - start

    print(f"== 4. speed, batch 1, 1 thread (median of {args.runs} runs) ==")
    with torch.no_grad():
        torch_dense_ms = median_ms(dense, x, args.runs)
        torch_pruned_ms = median_ms(pruned, x, args.runs)
    compiled_ms = median_ms(host, x, args.runs)

    print()
    print("| | value |")
    print("|---|---|")
    print(f"| dense accuracy (torch) | {100 * dense_acc:.2f} % |")
    print(f"| pruned accuracy (torch, 8 patterns x connectivity 3.6) | {100 * pruned_acc:.2f} % |")
    print(f"| compiled accuracy (host, {count} test images) | {100 * compiled_acc:.2f} % |")
    print(f"| max logit difference, compiled host vs torch | {worst:.2e} |")
    print(f"| max logit difference, arm64 under qemu vs torch (4 images) | {arm_diff:.2e} |")
    print(
        f"| conv MACs, pruned / dense | {costs['macs']:,} / {costs['dense_macs']:,} "
        f"({costs['dense_macs'] / costs['macs']:.1f}x fewer) |"
    )
    print(f"| torch dense, ms | {torch_dense_ms:.3f} |")
    print(f"| torch pruned (dense kernels), ms | {torch_pruned_ms:.3f} |")
    print(f"| pattern-mlir compiled, ms | {compiled_ms:.3f} |")
    print(f"| speed-up vs torch dense | {torch_dense_ms / compiled_ms:.2f}x |")
    ok = abs(compiled_acc - pruned_acc) < 1e-3 and worst < 1e-3 and arm_diff < 1e-3
    print(f"| training (dense + ADMM + masked retraining) or loading, s | {train_s:.0f} |")
    print(f"| compile host / arm64-neon, s | {host_s:.1f} / {arm64_s:.1f} |")
    print(f"| compiled test set + arm64 sample, s | {run_s:.1f} |")
    print("parity with torch:", "OK" if ok else "MISMATCH")
    load_end = os.getloadavg()
    print(
        f"demo wall time: {(time.perf_counter() - demo_start) / 60:.1f} min "
        f"(load average {load_start[0]:.2f} at the start, {load_end[0]:.2f} / {load_end[1]:.2f} / "
        f"{load_end[2]:.2f} (1 / 5 / 15 min) at the end; {os.cpu_count()} CPUs)"
    )
    return 0 if ok else 1


def _run_with_passive_openmp() -> None:
    """Re-execute this module with OMP_WAIT_POLICY=PASSIVE unless the caller set a policy."""
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        os.execv(sys.executable, [sys.executable, "-m", "pattern_mlir.demo", *sys.argv[1:]])


if __name__ == "__main__":
    _run_with_passive_openmp()
    raise SystemExit(main())
