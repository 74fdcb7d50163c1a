"""Op benchmark: every op family a user's model brings, compiled against torch eager, 1 thread.

Each family is a small torch module at a size where torch takes tens of microseconds or
more, compiled for the host (`pattern_mlir.compile`, 1 thread) and run beside torch eager
(1 thread, `inference_mode`) in this process: rounds of (torch, compiled) medians,
interleaved, each round at least `--runs` calls and ROUND_SECONDS long, the smallest median of
each kept. The output is checked against torch first
(relative error, max |difference| / max |torch|). Writes docs/bench_ops.md.

    .venv/bin/python scripts/bench_ops.py                  # every family (~5-10 min)
    .venv/bin/python scripts/bench_ops.py --only gelu,lstm --md ''
"""

from __future__ import annotations

import argparse
import datetime
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pattern_mlir
import torch
import torch.nn.functional as F
from bench.machine import describe_machine
from pattern_mlir.target import resolve_target
from pattern_mlir.target.host_cpu import cpuinfo_fields
from pattern_mlir.timing import median_ms
from torch import nn

ROOT = Path(__file__).resolve().parents[1]


class Lambda(nn.Module):
    """A module around a function of the input (for functional ops)."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class LastHidden(nn.Module):
    """The output sequence of a recurrent layer (its tuple's first element)."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x)[0]


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x):
        return self.attention(x, x, x, need_weights=False)[0]


class Gather(nn.Module):
    """Rows of the input picked by a constant index tensor."""

    def __init__(self, index: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("index", index)

    def forward(self, x):
        return torch.gather(x, 1, self.index)


@dataclass(frozen=True)
class Family:
    name: str
    group: str
    make: Callable[[], nn.Module]
    shape: tuple[int, ...]


IMAGE = (1, 64, 56, 56)
TOKENS = (1, 197, 192)
ROUND_SECONDS = 0.05


def _sdpa(x):
    q = x.view(1, 197, 3, 64).transpose(1, 2)
    return F.scaled_dot_product_attention(q, q, q).transpose(1, 2).reshape(1, 197, 192)


FAMILIES = [
    Family("relu", "activation", lambda: nn.ReLU(), IMAGE),
    Family("prelu", "activation", lambda: nn.PReLU(64), IMAGE),
    Family("leaky_relu", "activation", lambda: nn.LeakyReLU(0.1), IMAGE),
    Family("elu", "activation", lambda: nn.ELU(), IMAGE),
    Family("gelu_erf", "activation", lambda: nn.GELU(), IMAGE),
    Family("gelu_tanh", "activation", lambda: nn.GELU(approximate="tanh"), IMAGE),
    Family("silu", "activation", lambda: nn.SiLU(), IMAGE),
    Family("mish", "activation", lambda: nn.Mish(), IMAGE),
    Family("hardsigmoid", "activation", lambda: nn.Hardsigmoid(), IMAGE),
    Family("hardswish", "activation", lambda: nn.Hardswish(), IMAGE),
    Family("softplus", "activation", lambda: nn.Softplus(), IMAGE),
    Family("softmax_channels", "softmax", lambda: nn.Softmax(dim=1), IMAGE),
    Family("log_softmax_last", "softmax", lambda: nn.LogSoftmax(dim=-1), TOKENS),
    Family("layer_norm", "norm", lambda: nn.LayerNorm(192), TOKENS),
    Family("group_norm", "norm", lambda: nn.GroupNorm(8, 64), IMAGE),
    Family("instance_norm", "norm", lambda: nn.InstanceNorm2d(64, affine=True), IMAGE),
    Family("bmm_runtime", "attention", lambda: Lambda(lambda x: x @ x.transpose(1, 2)), TOKENS),
    Family("sdpa", "attention", lambda: Lambda(_sdpa), TOKENS),
    Family("multihead_attention", "attention", lambda: SelfAttention(192, 3), TOKENS),
    Family(
        "transformer_encoder_layer",
        "attention",
        lambda: nn.TransformerEncoderLayer(192, 3, 384, dropout=0.0, batch_first=True),
        TOKENS,
    ),
    Family(
        "lstm", "recurrent", lambda: LastHidden(nn.LSTM(128, 256, batch_first=True)), (1, 28, 128)
    ),
    Family(
        "gru", "recurrent", lambda: LastHidden(nn.GRU(128, 256, batch_first=True)), (1, 28, 128)
    ),
    Family("conv3x3", "conv", lambda: nn.Conv2d(64, 64, 3, padding=1), IMAGE),
    Family("conv5x5", "conv", lambda: nn.Conv2d(64, 64, 5, padding=2), IMAGE),
    Family("conv1x1", "conv", lambda: nn.Conv2d(64, 128, 1), IMAGE),
    Family(
        "conv_transpose_s2",
        "conv",
        lambda: nn.ConvTranspose2d(64, 32, 3, 2, 1, output_padding=1),
        (1, 64, 28, 28),
    ),
    Family("conv_grouped_g4", "conv", lambda: nn.Conv2d(64, 64, 3, padding=1, groups=4), IMAGE),
    Family("conv_dilated_d2", "conv", lambda: nn.Conv2d(64, 64, 3, padding=2, dilation=2), IMAGE),
    Family("conv_depthwise", "conv", lambda: nn.Conv2d(64, 64, 3, padding=1, groups=64), IMAGE),
    Family("max_pool_ceil", "pool", lambda: nn.MaxPool2d(3, 2, ceil_mode=True), IMAGE),
    Family("adaptive_avg_pool", "pool", lambda: nn.AdaptiveAvgPool2d((7, 7)), IMAGE),
    Family("reflect_pad", "padding", lambda: nn.ReflectionPad2d(2), IMAGE),
    Family("replicate_pad", "padding", lambda: nn.ReplicationPad2d(2), IMAGE),
    Family(
        "upsample_nearest", "resample", lambda: nn.Upsample(scale_factor=2, mode="nearest"), IMAGE
    ),
    Family(
        "upsample_bilinear", "resample", lambda: nn.Upsample(scale_factor=2, mode="bilinear"), IMAGE
    ),
    Family(
        "upsample_bicubic", "resample", lambda: nn.Upsample(scale_factor=2, mode="bicubic"), IMAGE
    ),
    Family(
        "cat_split",
        "shape",
        lambda: Lambda(lambda x: torch.cat(torch.chunk(x, 4, dim=1)[::-1], dim=1)),
        IMAGE,
    ),
    Family("gather", "shape", lambda: Gather(torch.randint(0, 197, (1, 64, 192))), TOKENS),
    Family("mean_channels", "reduction", lambda: Lambda(lambda x: x.mean(1)), IMAGE),
    Family("sum_last", "reduction", lambda: Lambda(lambda x: x.sum(-1)), IMAGE),
    Family("argmax_channels", "reduction", lambda: Lambda(lambda x: x.argmax(1).float()), IMAGE),
    Family(
        "broadcast_arith",
        "elementwise",
        lambda: Lambda(lambda x: (x * x.mean((2, 3), keepdim=True) + 1) / 3),
        IMAGE,
    ),
]


@dataclass
class Row:
    family: Family
    status: str  # ok, mismatch, fails
    error: float = float("nan")
    torch_ms: float = float("nan")
    ours_ms: float = float("nan")
    compile_s: float = float("nan")
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.torch_ms / self.ours_ms


def measure(family: Family, rounds: int, runs: int) -> Row:
    torch.manual_seed(0)
    model = family.make().eval()
    x = torch.randn(*family.shape)
    start = time.perf_counter()
    try:
        exe = pattern_mlir.compile(model, x, options=pattern_mlir.CompileOptions(num_threads=1))
    except pattern_mlir.CompileError as error:
        return Row(family, "fails", note=" ".join(str(error).splitlines()[:2])[:240])
    compile_s = time.perf_counter() - start
    with torch.inference_mode():
        want = model(x)
        got = exe(x)
        error = float((got - want).abs().max() / want.abs().max().clamp_min(1e-30))
        # A round of a small op lasts long enough that the median is not a handful of
        # timer ticks and cache states: at least ROUND_SECONDS of calls of the slower one.
        slower = max(median_ms(model, x, 5), median_ms(exe, x, 5))
        runs = max(runs, math.ceil(ROUND_SECONDS * 1e3 / max(slower, 1e-3)))
        torch_ms = ours_ms = float("inf")
        for _ in range(rounds):  # interleaved: a slow phase of the machine hits both
            torch_ms = min(torch_ms, median_ms(model, x, runs))
            ours_ms = min(ours_ms, median_ms(exe, x, runs))
    status = "ok" if error <= 1e-4 else "mismatch"
    return Row(family, status, error, torch_ms, ours_ms, compile_s)


def markdown(rows: list[Row], command: str, seconds: float, load: tuple[float, float]) -> str:
    target, machine = resolve_target("host"), describe_machine()
    slower = [r for r in rows if r.status == "ok" and r.ratio < 1.0]
    failed = [r for r in rows if r.status != "ok"]
    lines = [
        "# Op benchmark: each op family against torch eager (CPU, 1 thread)",
        "",
        (
            f"Made {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC at commit {machine['commit']} in "
            f"{seconds / 60:.0f} min by"
        ),
        "",
        "```",
        f"cd {ROOT} && .venv/bin/python {command}",
        "```",
        "",
        (
            f"Machine: {(cpuinfo_fields() or {}).get('model name', 'unknown CPU')} ({platform.machine()}), "
            f"compiled for {target.describe()}; "
            f"torch {torch.__version__} eager; 1-minute load average {load[0]:.1f} at the start, {load[1]:.1f} "
            "at the end (2 cores, shared with other jobs)."
        ),
        "",
        (
            "Each family: a small module at the size in the table, compiled with `pattern_mlir.compile` "
            "(host, 1 thread) and run beside torch (1 thread, `inference_mode`) in one process; "
            "medians of the runs, the smallest of the interleaved rounds. *x torch* = torch ms / "
            "pattern-mlir ms (> 1: pattern-mlir faster). Error = max |difference| / max |torch|."
        ),
        "",
        "## Summary",
        "",
        (
            f"- {len(rows)} families; {len(rows) - len(failed)} compile and match torch within 1e-4; "
            f"{len(failed)} do not ({', '.join(r.family.name for r in failed) or 'none'})."
        ),
        (
            f"- At least as fast as torch eager: {len(rows) - len(failed) - len(slower)} of "
            f"{len(rows) - len(failed)}; slower: "
            + (", ".join(f"{r.family.name} ({r.ratio:.2f}x)" for r in slower) or "none")
            + "."
        ),
        "",
        "| family | group | input | torch ms | pattern-mlir ms | x torch | error | compile s | status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        shape = "x".join(map(str, r.family.shape))
        if r.status == "fails":
            lines.append(
                f"| {r.family.name} | {r.family.group} | {shape} | | | | | | fails: {r.note} |"
            )
            continue
        lines.append(
            f"| {r.family.name} | {r.family.group} | {shape} | {r.torch_ms:.3f} | {r.ours_ms:.3f} | "
            f"{r.ratio:.2f} | {r.error:.1e} | {r.compile_s:.1f} | {r.status} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    import os

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated family names")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--md", default=str(ROOT / "docs" / "bench_ops.md"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    wanted = set(filter(None, args.only.split(",")))
    unknown = wanted - {f.name for f in FAMILIES}
    if unknown:
        ap.error(f"unknown families {sorted(unknown)}")
    start, load_start = time.perf_counter(), os.getloadavg()[0]
    rows = []
    for family in FAMILIES:
        if wanted and family.name not in wanted:
            continue
        row = measure(family, args.rounds, args.runs)
        rows.append(row)
        print(
            f"{family.name:28s} {row.status:8s} torch {row.torch_ms:8.3f} ms  ours {row.ours_ms:8.3f} ms  "
            f"err {row.error:.1e}  {row.note}",
            flush=True,
        )
    if args.md:
        command = " ".join(["scripts/bench_ops.py", *sys.argv[1:]])
        Path(args.md).write_text(
            markdown(rows, command, time.perf_counter() - start, (load_start, os.getloadavg()[0]))
        )
        print(f"wrote {args.md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
