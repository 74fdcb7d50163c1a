"""Block-sparse layer benchmark: speed-up against block sparsity (issue 18, item 5).

Each layer (ResNet-50 and MobileNet-V2 1x1 convs, BERT-base linears over 128 tokens, an
LSTM-sized batch-1 linear) is block-pruned with the front end (`prune.project(...,
block_sparsity=s)`, 8 x 1 blocks) at s = 0.5, 0.75, 0.9 and compiled by pattern-mlir for the
chosen target, 1 thread; the same layer unpruned compiles to the dense kernel. All of them
and torch eager (dense weights, 1 thread) run in this process in interleaved rounds (each a
median of `--runs` calls' process CPU time), the smallest round median kept. Outputs are checked against
torch on the same weights. The ideal speed-up at s is 1 / (1 - s).

    PYTHONPATH=python:scripts .venv/bin/python scripts/bench_blocks.py            # ~5 min
    PYTHONPATH=python:scripts .venv/bin/python scripts/bench_blocks.py --layers bert_ffn1 --md '' --png ''
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from bench.machine import describe_machine
from bench.snapshot import activate, make_snapshot
from torch import nn

# Measure the committed compiler, not the working tree colleagues edit meanwhile (see
# bench/snapshot.py); --live measures the working tree.
COMMIT = "working tree"
if __name__ == "__main__" and "--live" not in sys.argv:
    _snapshot, COMMIT = make_snapshot("/tmp/bench_blocks")
    activate(_snapshot)

import pattern_mlir
from pattern_mlir import prune
from pattern_mlir.target.host_cpu import cpuinfo_fields
from pattern_mlir.timing import median_ms

ROOT = Path(__file__).resolve().parents[1]
SPARSITIES = (0.5, 0.75, 0.9)


def _conv(cin, cout, hw):
    return nn.Conv2d(cin, cout, 1), torch.randn(1, cin, hw, hw)


def _linear(cin, cout, tokens):
    return nn.Linear(cin, cout), torch.randn(tokens, cin)


LAYERS = {
    "r50_1x1_64_256": ("ResNet-50 expand 64->256, 56x56", lambda: _conv(64, 256, 56)),
    "r50_1x1_256_64": ("ResNet-50 reduce 256->64, 56x56", lambda: _conv(256, 64, 56)),
    "r50_1x1_1024_256": ("ResNet-50 reduce 1024->256, 14x14", lambda: _conv(1024, 256, 14)),
    "r50_1x1_512_2048": ("ResNet-50 expand 512->2048, 7x7", lambda: _conv(512, 2048, 7)),
    "mbv2_1x1_24_144": ("MobileNet-V2 expand 24->144, 56x56", lambda: _conv(24, 144, 56)),
    "mbv2_1x1_144_24": ("MobileNet-V2 project 144->24, 56x56", lambda: _conv(144, 24, 56)),
    "bert_qkv": ("BERT-base QKV 768->2304, 128 tokens", lambda: _linear(768, 2304, 128)),
    "bert_ffn1": ("BERT-base FFN 768->3072, 128 tokens", lambda: _linear(768, 3072, 128)),
    "bert_ffn2": ("BERT-base FFN 3072->768, 128 tokens", lambda: _linear(3072, 768, 128)),
    "lstm_gates": ("LSTM gates 256->1024, batch 1", lambda: _linear(256, 1024, 1)),
}


class LSTMClassifier(nn.Module):
    """A 2-layer LSTM over a sequence of feature vectors, classified from its last step."""

    def __init__(self, features: int = 128, hidden: int = 256, classes: int = 10) -> None:
        super().__init__()
        self.rnn = nn.LSTM(features, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[:, -1])


MODELS = {
    "bert_layer": (
        "BERT-base encoder layer, 128 tokens x 768",
        lambda: (
            nn.TransformerEncoderLayer(
                768, 12, 3072, dropout=0.0, activation="gelu", batch_first=True
            ),
            torch.randn(1, 128, 768),
        ),
    ),
    "lstm_classifier": (
        "LSTM classifier, 2 layers x 256, 32 steps of 128 features, batch 1",
        lambda: (LSTMClassifier(), torch.randn(1, 32, 128)),
    ),
}


def _ort_session(model: nn.Module, x: torch.Tensor, path: Path):
    """ONNX Runtime on the model's export (the harness's recipe and session), 1 thread."""
    from bench.onnx_export import export_onnx
    from bench.peers.ort import session

    name = export_onnx(model, x, path)["input"]
    ort_session = session(path, threads=1)
    return lambda t: ort_session.run(None, {name: t.numpy()})[0]


def measure_model(name: str, target: str, runs: int, rounds: int, sparsity: float) -> dict:
    """Torch eager, ORT and pattern-mlir dense on the block-pruned weights, pattern-mlir sparse."""
    torch.manual_seed(sum(map(ord, name)))
    model, x = MODELS[name][1]()
    model.eval()
    spec = prune.project(model, block_sparsity=sparsity, block_rows=8)
    options = pattern_mlir.CompileOptions(num_threads=1)
    runners = {
        "torch": model,
        "ort": _ort_session(model, x, ROOT / "out" / f"bench_blocks_{name}.onnx"),
    }
    sparse = pattern_mlir.compile(model, (x,), target=target, options=options)
    blocks = sparse.ir("blocks").count("pattern.block_")
    runners["pattern"] = sparse
    errors = {}
    with torch.inference_mode():
        want = model(x)
        for key, run in runners.items():
            errors[key] = _relative_error(run(x), want)
        best: dict[str, float] = {}
        for _ in range(rounds):
            for key, run in runners.items():
                t = median_cpu_ms(run, x, runs)
                best[key] = min(best.get(key, t), t)
    return {
        "name": name,
        "what": MODELS[name][0],
        "ms": best,
        "error": errors,
        "block_ops": blocks,
        "pruned_weights": len(spec.blocks),
        "sparsity": sparsity,
    }


def _args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", default=",".join(LAYERS))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--model-sparsity", type=float, default=0.75)
    ap.add_argument("--target", default="host")
    ap.add_argument("--live", action="store_true", help="measure the working tree, not HEAD")
    ap.add_argument(
        "--block-rows", type=int, default=8, help="block height R of the layers (4 or 8)"
    )
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", default=str(ROOT / "out" / "bench_blocks.json"))
    ap.add_argument("--md", default=str(ROOT / "docs" / "bench_blocks.md"))
    ap.add_argument("--png", default=str(ROOT / "docs" / "bench_blocks.png"))
    return ap.parse_args()


def median_cpu_ms(fn, x, runs: int, warmup: int = 3) -> float:
    """Median CPU time of this process per call of `fn(x)`, in ms.

    Process CPU time, not wall time: on a shared machine the wall clock also counts the time
    other processes hold the core, which varies between calls. The process clock counts
    every thread a runtime starts (ONNX Runtime's included), so no peer's work goes
    uncounted; all runtimes here are asked for 1 thread."""
    return median_ms(fn, x, runs, warmup, clock=time.process_time)


def _relative_error(got, want) -> float:
    got, want = np.asarray(got, np.float64), want.detach().double().numpy()
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-12))


def measure_layer(name: str, target: str, runs: int, rounds: int, block_rows: int = 8) -> dict:
    torch.manual_seed(sum(map(ord, name)))
    layer, x = LAYERS[name][1]()
    layer.eval()
    options = pattern_mlir.CompileOptions(num_threads=1)
    variants = {"dense": (layer, pattern_mlir.compile(layer, (x,), target=target, options=options))}
    for s in SPARSITIES:
        pruned = copy.deepcopy(layer)
        # Every layer here is measured pruned, also those the default rules keep dense as small.
        prune.project(
            pruned, block_sparsity=s, block_rules=prune.BlockRules(rows=block_rows, min_weights=0)
        )
        exe = pattern_mlir.compile(pruned, (x,), target=target, options=options)
        if "pattern.block_" not in exe.ir("blocks"):
            raise RuntimeError(f"{name} at sparsity {s}: no block op was raised")
        variants[f"{s:g}"] = (pruned, exe)
    errors = {}
    with torch.inference_mode():
        for key, (model, exe) in variants.items():
            errors[key] = _relative_error(exe(x), model(x))
        best: dict[str, float] = {}
        for _ in range(rounds):
            t = median_cpu_ms(layer, x, runs)
            best["torch"] = min(best.get("torch", t), t)
            for key, (_, exe) in variants.items():
                t = median_cpu_ms(exe, x, runs)
                best[key] = min(best.get(key, t), t)
    return {"name": name, "what": LAYERS[name][0], "ms": best, "error": errors}


def machine_line() -> str:
    """CPU model and ISA of this host, from /proc/cpuinfo."""
    fields = cpuinfo_fields() or {}
    flags = fields.get("flags", "").split()
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{fields.get('model name', 'unknown CPU')} ({isa}), {os.cpu_count()} cores"


def render_models_md(results: list[dict]) -> list[str]:
    if not results:
        return []
    intro = (
        "The whole model block-pruned with `prune.project(model, block_sparsity=s)`; ONNX Runtime "
        "(1 intra-op thread, sequential, all graph optimisations) and torch eager run the same pruned "
        "weights densely. Ratio = ORT ms / pattern-mlir ms."
    )
    lines = [
        "",
        "## Models against ONNX Runtime",
        "",
        intro,
        "",
        "| model | s | block ops | torch ms | ORT ms | pattern-mlir ms | vs ORT | max rel. error |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ms = r["ms"]
        lines.append(
            f"| {r['what']} | {r['sparsity']:g} | {r['block_ops']} | {ms['torch']:.2f} | {ms['ort']:.2f} | "
            f"{ms['pattern']:.2f} | {ms['ort'] / ms['pattern']:.2f}x | {max(r['error'].values()):.1e} |"
        )
    return lines


def render_md(
    results: list[dict], machine: str, target: str, model_results: list[dict] = ()
) -> str:
    lines = [
        "# Block-sparse layers: speed-up against block sparsity",
        "",
        (
            f"Written by `scripts/bench_blocks.py` on {datetime.date.today()} at commit {COMMIT[:12]}; {machine}; "
            f"target `{target}`; 1 thread; load average at the start {os.getloadavg()[0]:.1f}."
        ),
        "",
        (
            "Each layer is block-pruned by `prune.project(layer, block_sparsity=s)` with 8-row blocks and no "
            "minimum size (blocks of 8 outputs x 1 input) and compiled by pattern-mlir; `dense` is the same "
            "layer unpruned through pattern-mlir's dense kernel, `torch` is torch eager on the dense weights, "
            "all in one process, interleaved rounds, smallest round median of the process's CPU time per call "
            "(the machine is shared; wall time would count other processes). Speed-up = dense ms / sparse ms; "
            "ideal = 1 / (1 - s); efficiency = speed-up / ideal. Every output matched torch on its own weights "
            "(max relative error in the last column)."
        ),
        "",
        (
            "| layer | torch ms | dense ms | "
            + " | ".join(f"s={s:g} ms (speed-up, eff.)" for s in SPARSITIES)
            + " | max rel. error |"
        ),
        "|---|---:|---:|" + "---:|" * len(SPARSITIES) + "---:|",
    ]
    for r in results:
        ms = r["ms"]
        cells = []
        for s in SPARSITIES:
            t = ms[f"{s:g}"]
            speed = ms["dense"] / t
            cells.append(f"{t:.3f} ({speed:.2f}x, {speed * (1 - s):.2f})")
        lines.append(
            f"| {r['what']} | {ms['torch']:.3f} | {ms['dense']:.3f} | "
            + " | ".join(cells)
            + f" | {max(r['error'].values()):.1e} |"
        )
    fixed_costs = (
        "Fixed costs per call (the entry's transposes and scratch buffers, the call itself) weigh on "
        "the smallest layers: a layer that takes tens of microseconds dense (the batch-1 LSTM gate "
        "matrix) cannot approach the ideal as a single call; inside a model its steps are kernels "
        "of one call, which the model table measures."
    )
    lines += ["", "![speed-up against block sparsity](bench_blocks.png)", "", fixed_costs]
    lines += render_models_md(list(model_results))
    return "\n".join(lines) + "\n"


def render_png(results: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [0.0, *SPARSITIES]
    ax.plot(xs, [1 / (1 - s) for s in xs], "k--", label="ideal 1/(1-s)")
    for r in results:
        ms = r["ms"]
        ax.plot(
            xs,
            [1.0] + [ms["dense"] / ms[f"{s:g}"] for s in SPARSITIES],
            marker="o",
            label=r["name"],
        )
    ax.set_xlabel("block sparsity s (8 x 1 blocks)")
    ax.set_ylabel("speed-up over pattern-mlir dense")
    ax.set_yscale("log", base=2)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    args = _args()
    torch.set_num_threads(1)
    results, model_results = [], []
    for name in filter(None, args.models.split(",")):
        r = measure_model(name, args.target, args.runs, args.rounds, args.model_sparsity)
        model_results.append(r)
        ms = r["ms"]
        print(
            f"{name}: torch {ms['torch']:.2f} ort {ms['ort']:.2f} pattern {ms['pattern']:.2f} "
            f"({ms['ort'] / ms['pattern']:.2f}x ORT) block ops {r['block_ops']} err {max(r['error'].values()):.1e}",
            flush=True,
        )
    for name in filter(None, args.layers.split(",")):
        r = measure_layer(name, args.target, args.runs, args.rounds, args.block_rows)
        results.append(r)
        ms = r["ms"]
        print(
            f"{name}: torch {ms['torch']:.3f} dense {ms['dense']:.3f} "
            + " ".join(
                f"s={s:g} {ms[f'{s:g}']:.3f} ({ms['dense'] / ms[f'{s:g}']:.2f}x)"
                for s in SPARSITIES
            )
            + f" err {max(r['error'].values()):.1e}",
            flush=True,
        )
    machine = describe_machine()
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": machine,
                    "target": args.target,
                    "results": results,
                    "models": model_results,
                },
                indent=1,
            )
        )
    if args.md:
        Path(args.md).write_text(render_md(results, machine_line(), args.target, model_results))
    if args.png and results:
        render_png(results, args.png)


if __name__ == "__main__":
    sys.exit(main())
