#!/usr/bin/env python3
"""Measure the GPU path and write the generated part of docs/gpu.md.

For each zoo model (pattern_mlir.models at its small input; 3x3 convs projected onto
8 patterns at connectivity 3.6), compiled by `pattern_mlir.compile(...,
target="vulkan-adreno")`: every kernel with its workgroup size, workgroup count, shared
memory and time, the model's error against torch, and the same pruned model compiled
without pattern ops and with every conv on the upstream path, for comparison. Then a
few single layers: the pattern kernel (direct and staged) against the dense conv
kernel and the dense upstream kernel of the same pruned weights.

Timings come from Vulkan timestamp queries. On this machine the device is Mesa
lavapipe, a CPU driver: the numbers describe this machine's CPU running SPIR-V,
not a phone GPU, and say nothing about Adreno speed; they are here to compare
kernels with each other and to catch regressions.

Usage: .venv/bin/python scripts/gpu_report.py [--runs N] [--out docs/gpu.md]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pattern_mlir
import torch
from pattern_mlir import models, prune
from pattern_mlir.gpu import compile_for_vulkan
from pattern_mlir.gpu.conv_cases import (
    ConvCase,
    conv_module,
    make_layer,
    reference,
    relative_error,
)
from pattern_mlir.runtime.vulkan import VulkanDevice

ROOT = Path(__file__).resolve().parent.parent
#: Zoo models lavapipe runs in seconds, and the large classifiers (--no-networks skips them).
SMALL_MODELS = ["fashion-cnn", "mobilenet-v2", "style-transfer", "super-resolution", "colorization"]
NETWORKS = ["vgg16", "resnet50"]

BEGIN, END = "<!-- BEGIN gpu_report -->", "<!-- END gpu_report -->"
LAYERS = [
    ConvCase(1, 32, 56, 56, 32, 1, (1, 1, 1, 1), 1, 8, 3.6),
    ConvCase(1, 64, 32, 32, 64, 1, (1, 1, 1, 1), 1, 8, 3.6),
    ConvCase(1, 128, 16, 16, 128, 1, (1, 1, 1, 1), 1, 8, 3.6),
]


def timed(runs: int, *cases):
    """[(total ms, per-kernel ms array)] for each (executable, inputs) case.

    The cases run interleaved (one call of each per round, after a warm-up) and each
    figure is the minimum over ``runs`` rounds: on a shared CPU, contention only ever
    adds time, so the minimum is the best estimate and interleaving exposes every case
    to the same load.
    """
    for exe, inputs in cases:
        exe(*inputs)
    totals = [[] for _ in cases]
    per = [[] for _ in cases]
    for _ in range(runs):
        for i, (exe, inputs) in enumerate(cases):
            exe(*inputs)
            totals[i].append(exe.last_timings["gpu_ms"])
            per[i].append([ms for _, ms in exe.last_timings["kernels"]])
    return [(float(min(t)), np.min(np.array(p), axis=0)) for t, p in zip(totals, per)]


def compile_gpu(model, x, device, *, patterns: bool = True, upstream_convs: bool = False):
    """`model` through compile(target="vulkan-adreno"); with `upstream_convs`, the front
    end's output through the GPU stages again with every conv on the upstream path."""
    with tempfile.TemporaryDirectory(prefix="gpu-report-") as temps:
        options = pattern_mlir.CompileOptions(patterns=patterns, save_temps=temps)
        exe = pattern_mlir.compile(model, x, target="vulkan-adreno", options=options)
        if not upstream_convs:
            return exe.program
        exe.program.close()
        text = (Path(temps) / "inlined.mlir").read_text()
        return compile_for_vulkan(text, device=device, entry="forward", dense_convs=False)


def model_section(name: str, device, runs: int) -> list[str]:
    model, x = models.build(name, small=True, random_bn=True)
    prune.project(model, num_patterns=8, connectivity=3.6)
    want = model(x).detach().numpy()
    exe = compile_gpu(model, x, device)
    dense = compile_gpu(model, x, device, patterns=False, upstream_convs=True)
    err = relative_error(exe(x.numpy())[0], want)
    (total, per), (dense_total, dense_per) = timed(runs, (exe, [x.numpy()]), (dense, [x.numpy()]))
    kinds = [k.kind for k in exe.kernels]
    shared = [k.shared_memory_bytes for k in exe.kernels]
    counts = ", ".join(
        f"{kinds.count(c)} {c}" for c in ("pattern", "dense", "depthwise", "upstream")
    )
    lines = [
        f"### {name} (input {tuple(x.shape)}, {kinds.count('pattern')} pattern convs)",
        "",
        f"Kernels: {counts}; largest shared memory {max(shared)} bytes.",
        "",
        "<details><summary>every kernel</summary>",
        "",
        "| # | kernel | kind | workgroup | workgroups | shared bytes | min ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, (k, ms) in enumerate(zip(exe.kernels, per)):
        lines.append(
            f"| {i} | `{k.name}` | {k.kind} | {'x'.join(map(str, k.workgroup_size))} | "
            f"{'x'.join(map(str, k.workgroup_count))} | {k.shared_memory_bytes} | {ms:.3f} |"
        )
    lines += ["", "</details>"]
    pattern_ms = sum(ms for k, ms in zip(exe.kernels, per) if k.pattern)
    conv_ms = sum(ms for k, ms in zip(exe.kernels, per) if k.kind != "upstream")
    kernels = len(exe.kernels)
    dense_conv_ms = sum(ms for k, ms in zip(dense.kernels, dense_per) if "conv" in k.name)
    dense_kernels = len(dense.kernels)
    exe.close()
    dense.close()
    lines += [
        "",
        (
            f"{kernels} kernels ({counts}); relative error vs torch {err:.1e}; GPU time "
            f"{total:.2f} ms, of which conv-emitter kernels (pattern, dense, depthwise) {conv_ms:.2f} ms (pattern "
            f"{pattern_ms:.2f} ms). Baseline, the same pruned model with no pattern ops and "
            f"every conv on the upstream path: {dense_kernels} kernels, {dense_total:.2f} ms, "
            f"of which convs {dense_conv_ms:.2f} ms."
        ),
        "",
    ]
    return lines


def layer_section(device, runs: int) -> list[str]:
    lines = [
        (
            "| layer (N,C,H,W -> K), 8 patterns, 3.6x | kept MACs | pattern direct ms | "
            "pattern staged ms | same weights as a dense conv, conv kernel ms | "
            "same weights as a dense conv, upstream ms | "
            "torch CPU ms |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for case in LAYERS:
        rng = np.random.default_rng(0)
        weights, library, assignment, bias = make_layer(case, rng)
        x = rng.standard_normal((case.n, case.cin, case.h, case.w)).astype(np.float32)
        text = conv_module(case, weights, library, assignment, bias)
        exes = [compile_for_vulkan(text, device=device, staged=staged) for staged in (False, True)]
        for exe in exes:
            assert relative_error(exe(x)[0], reference(case, x, weights, bias)) <= 1e-3
        macs = exes[0].kernels[0].kept_macs
        conv = torch.nn.Conv2d(case.cin, case.cout, 3, padding=1).eval()
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(weights))
            conv.bias.copy_(torch.from_numpy(bias))
        xt = torch.from_numpy(x)
        exes.append(compile_gpu(conv, xt, device, patterns=False))
        exes.append(compile_gpu(conv, xt, device, patterns=False, upstream_convs=True))
        times = [t for t, _ in timed(runs, *[(e, [x]) for e in exes])]
        for exe in exes:
            exe.close()
        torch_ms = torch_time(conv, xt, runs)
        shape = f"{case.n},{case.cin},{case.h},{case.w} -> {case.cout}"
        lines.append(
            f"| {shape} | {macs / 1e6:.2f} M | {times[0]:.2f} | {times[1]:.2f} | "
            f"{times[2]:.2f} | {times[3]:.2f} | {torch_ms:.2f} |"
        )
    return lines


def torch_time(module, x, runs: int) -> float:
    import time

    with torch.no_grad():
        module(x)
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            module(x)
            samples.append((time.perf_counter() - start) * 1e3)
    return float(np.median(samples))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", default=str(ROOT / "docs" / "gpu.md"))
    parser.add_argument("--no-networks", action="store_true", help="skip VGG-16 and ResNet-50")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    device = VulkanDevice()
    info = device.info
    lines = [
        BEGIN,
        "",
        "Generated by `.venv/bin/python scripts/gpu_report.py"
        + (f" --runs {args.runs}" if args.runs != 10 else "")
        + (" --no-networks" if args.no_networks else "")
        + "`; do not edit by hand.",
        "",
        f"Device: **{info.name}** (Vulkan {'.'.join(map(str, info.api_version))}), "
        f"on a host with {os.cpu_count()} CPU cores "
        f"(load average {os.getloadavg()[0]:.1f} when the report started: other jobs share "
        "the cores, so absolute times are noisy). "
        + (
            "**This is Mesa lavapipe, a CPU driver: these timings measure this machine's CPU "
            "executing the SPIR-V, not a phone GPU, and say nothing about Adreno 640 speed.** "
            "They compare kernels with each other. No real GPU (and no IREE) was available, "
            "so there is no comparison against IREE's Vulkan output."
            if info.device_type == "cpu"
            else "A hardware GPU."
        ),
        "",
        (
            f"Times are minima over {args.runs} interleaved runs after a warm-up (the variants "
            "compared on one line run in turn, so they see the same load; contention only "
            "adds time), from Vulkan timestamp queries around each dispatch of the one "
            "command buffer per inference."
        ),
        "",
        "## Models",
        "",
    ]
    for name in SMALL_MODELS:
        lines += model_section(name, device, args.runs)
    if not args.no_networks:
        lines += ["## Large classifiers (32x32 inputs)", ""]
        for name in NETWORKS:
            lines += model_section(name, device, max(3, args.runs // 2))
    lines += ["## Single pattern conv layers", ""]
    lines += layer_section(device, args.runs)
    lines += ["", END]
    device.close()
    out = Path(args.out)
    text = out.read_text() if out.exists() else f"# GPU path\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    out.write_text(head + "\n".join(lines) + tail)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
