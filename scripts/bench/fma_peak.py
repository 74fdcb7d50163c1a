"""A target's FMA peak: a JIT-compiled loop of independent vector FMAs, 1 and 2 threads.

The efficiency figures need a ceiling measured on this machine, not a datasheet number
(a KVM guest's clock and AVX-512 frequency are unknown). The loop is sized by the target's
description (``pattern_mlir.target``): vectors of its native width (8 lanes on x86-64-v3,
16 on x86-64-v4) and ``peak_accumulators`` independent chains, twice the FMA pipes' need
(units x latency) and never more than the registers hold, so it runs at the FMA issue
limit without spills (16 chains of 16 lanes on AVX2 would be 32 ymm: half the speed).
Each accumulator starts at a different value that is no fixed point of its update, or LLVM
folds the whole loop away.
Compiled by the same MLIR JIT, for the same target, as the model's code.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import threading
import time

from pattern_mlir.backend.host_jit import jit_compile
from pattern_mlir.target import Target, resolve_target

from .protocol import emit


def _module(target: Target) -> str:
    ACCUMULATORS, LANES = target.peak_accumulators, target.lanes  # noqa: N806 (read as constants)
    vt = f"vector<{LANES}xf32>"
    accs = [f"%a{i}" for i in range(ACCUMULATORS)]
    body = [f"      %n{i} = vector.fma %a, %a{i}, %b : {vt}" for i in range(ACCUMULATORS)]
    adds, prev = [], "%r#0"
    for i in range(1, ACCUMULATORS):
        adds.append(f"  %s{i} = arith.addf {prev}, %r#{i} : {vt}")
        prev = f"%s{i}"
    types = ", ".join([vt] * ACCUMULATORS)
    return "\n".join(
        [
            "func.func @fma_loop(%n: index) -> f32 attributes {llvm.emit_c_interface} {",
            "  %c0 = arith.constant 0 : index",
            "  %c1 = arith.constant 1 : index",
            f"  %a = arith.constant dense<0.999999> : {vt}",
            f"  %b = arith.constant dense<0.000001> : {vt}",
            *(f"  %z{i} = arith.constant dense<{i + 2}.0> : {vt}" for i in range(ACCUMULATORS)),
            f"  %r:{ACCUMULATORS} = scf.for %i = %c0 to %n step %c1 iter_args("
            + ", ".join(f"{a} = %z{i}" for i, a in enumerate(accs))
            + f") -> ({types}) {{",
            *body,
            "      scf.yield " + ", ".join(f"%n{i}" for i in range(ACCUMULATORS)) + f" : {types}",
            "  }",
            *adds,
            f"  %sum = vector.reduction <add>, {prev} : {vt} into f32",
            "  return %sum : f32",
            "}",
        ]
    )


def _caller(address: int, iterations: int):
    fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(address)
    n, res = ctypes.c_int64(iterations), ctypes.c_float(0)
    args = (ctypes.c_void_p * 2)(ctypes.addressof(n), ctypes.addressof(res))
    keep = (n, res)  # args holds raw addresses: n and res must live as long as the call
    return lambda: fn(args) if keep else None


def peak_gflops(threads: int, iterations: int, repeats: int, target: str = "host") -> list[float]:
    """GFLOP/s of ``threads`` concurrent FMA loops (ctypes releases the GIL), per repeat."""
    description = resolve_target(target)
    jit = jit_compile(_module(description), target=description)
    calls = [_caller(jit.packed("fma_loop"), iterations) for _ in range(threads)]
    flops = 2.0 * description.peak_accumulators * description.lanes * iterations * threads
    calls[0]()
    samples = []
    for _ in range(repeats):
        workers = [threading.Thread(target=c) for c in calls[1:]]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        calls[0]()
        for w in workers:
            w.join()
        samples.append(flops / (time.perf_counter() - t0) / 1e9)
    peak_gflops.jit = jit
    return samples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iterations", type=int, default=2_000_000)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--target", default="host", help="an x86 target this CPU runs (default host)")
    args = ap.parse_args()
    description = resolve_target(args.target)
    result = {
        "peer": "fma_peak",
        "target": description.name,
        "isa": description.isa,
        "describe": description.describe(),
        "chains": description.peak_accumulators,
        "lanes": description.lanes,
        "samples": {},
    }
    for t in (int(s) for s in args.threads.split(",")):
        samples = peak_gflops(t, args.iterations, args.repeats, args.target)
        result["samples"][t] = {
            "gflops": samples,
            "max": max(samples),
            "median": statistics.median(samples),
        }
    emit(result)


if __name__ == "__main__":
    main()
