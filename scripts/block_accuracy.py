#!/usr/bin/env python3
"""Block sparsity on Fashion-MNIST (issue 18, item 4): dense, then ADMM at several block_sparsity.

For one model and one seed: train the dense model (cached), then for every block sparsity (default
0.5 0.75 0.9) copy it and prune it with prune.admm(..., block_sparsity=s): ADMM with the block
projection in the Z-step (plus 8 patterns x connectivity 3.6 on the 3x3 convs of the CNN; the
transformer and the LSTM have none), hard prune, masked retraining; record test top-1. The
schedule defaults are those of docs/accuracy.md's pattern runs (FashionConfig): dense 4 epochs
Adam lr 2e-3 cosine; ADMM 4 epochs, rho 1e-2 x3 per epoch, 4 Z/U updates per epoch, lr 1e-3;
8 epochs masked retraining. One thread by default (torch.set_num_threads(1)).

Models: bottleneck (FashionBottleneckCNN: 3x3 + 1x1 convs), vit (PatchTransformer), lstm / gru
(RowRNN over image rows). Results go to a JSON file (default
<cache>/block_accuracy/<model>-seed<N>.json), merged with what is already there, one entry per
sparsity (and variant), so runs can be added one at a time:

  PYTHONPATH=python nice -n 10 .venv/bin/python scripts/block_accuracy.py --model lstm --seed 0 \\
      --sparsities 0.75 [--prune-head] [--block-rows 8] [--quick]

--prune-head also prunes layers under the 4096-weight threshold (BlockRules(min_weights=0)); in
the vit and lstm models that is only the final classifier, so it measures what pruning the head
costs.

--report writes the section "Block sparsity (issue 18)" of docs/accuracy.md from every result
file in <cache>/block_accuracy/ (scripts/accuracy_report.py keeps that section when it rewrites
the page), listing what has not been run.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

from pattern_mlir.models.fashion_bottleneck import FashionBottleneckCNN
from pattern_mlir.models.patch_transformer import PatchTransformer
from pattern_mlir.models.row_rnn import RowRNN
from pattern_mlir.prune import BlockRules, admm, evaluate
from pattern_mlir.prune.atomic import write_text_atomic
from pattern_mlir.prune.fashion import FashionConfig, default_cache_dir, fashion_data
from pattern_mlir.prune.io import load_state, save_state
from pattern_mlir.prune.train import (
    cosine_schedule,
    make_optimizer,
    run_epoch,
    seed_everything,
)

REPORT_MODELS = ("bottleneck", "vit", "lstm")  # the three of issue 18, item 4
REPORT_SEEDS = (0, 1, 2)
REPORT_SPARSITIES = (0.5, 0.75, 0.9)
SECTION = "## Block sparsity (issue 18)"
DESCRIPTION = {
    "bottleneck": "`FashionBottleneckCNN()` (width 24: stem + 3 bottlenecks; 3x3 convs get 8 "
    "patterns x connectivity 3.6, the five 1x1 convs of >= 4096 weights get blocks)",
    "vit": "`PatchTransformer()` (7x7 patches, width 64, 2 pre-norm encoder layers, 4 heads, "
    "MLP 128; blocks in in_proj, out_proj, linear1, linear2 of both layers)",
    "lstm": "`RowRNN(cell='lstm')` (2-layer LSTM, 64 units, over the 28 rows; blocks in the four "
    "gate matrices)",
    "gru": "`RowRNN(cell='gru')`",
}

MODELS = {
    "bottleneck": lambda: FashionBottleneckCNN().to(memory_format=torch.channels_last),
    "vit": lambda: PatchTransformer(),
    "lstm": lambda: RowRNN(cell="lstm"),
    "gru": lambda: RowRNN(cell="gru"),
}


def cpu_model() -> str:
    """The CPU's `model name` (accuracy_report.py's reading of /proc/cpuinfo)."""
    from accuracy_report import cpu_name

    return cpu_name()


def new_model(name: str, seed: int) -> torch.nn.Module:
    seed_everything(seed)
    return MODELS[name]()


def train_dense(args, train, log) -> tuple[torch.nn.Module, dict]:
    """The dense model from <cache>/block_accuracy/<model>/seed<N>/, else trained and cached."""
    d = args.cache_dir / "block_accuracy" / args.model / f"seed{args.seed}"
    cfg = {
        "model": args.model,
        "seed": args.seed,
        "dense_epochs": args.dense_epochs,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "train_limit": args.train_limit,
    }
    model = new_model(args.model, args.seed)
    meta_path = d / "dense.json"
    if meta_path.is_file() and json.loads(meta_path.read_text())["config"] == cfg:
        meta = json.loads(meta_path.read_text())
        load_state(d / "dense.safetensors", model)
        log(f"dense model loaded from {d} (test acc {meta['test_acc']:.4f})")
        return model, meta
    t = time.time()
    opt = make_optimizer(model.parameters(), "adam", args.lr)
    sched = cosine_schedule(opt, train, args.dense_epochs)
    for e in range(args.dense_epochs):
        s = run_epoch(model, train, opt, scheduler=sched, desc=f"dense {e + 1}", progress=False)
        log(f"dense epoch {e + 1}: loss {s['loss']:.4f} train acc {s['acc']:.4f}")
    meta = {"config": cfg, "seconds": time.time() - t, "loadavg": list(os.getloadavg())}
    meta["test_acc"] = evaluate(model, args.test)["acc"]
    save_state(d / "dense.safetensors", model)
    write_text_atomic(meta_path, json.dumps(meta, indent=1))
    log(f"dense test acc {meta['test_acc']:.4f} ({meta['seconds']:.0f} s)")
    return model, meta


def prune_one(args, dense, train, sparsity: float, log) -> dict:
    model = copy.deepcopy(dense)
    train.epoch = args.dense_epochs  # the shuffles ADMM sees right after dense training
    rules = BlockRules(rows=args.block_rows, min_weights=0 if args.prune_head else 4096)
    t = time.time()
    spec = admm(
        model,
        train,
        args.num_patterns,
        args.connectivity,
        block_sparsity=sparsity,
        block_rules=rules,
        epochs=args.admm_epochs,
        retrain_epochs=args.retrain_epochs,
        rho=args.rho,
        rho_growth=args.rho_growth,
        updates_per_epoch=args.updates,
        lr=args.admm_lr,
        seed=args.seed,
        progress=False,
        callback=lambda r: log(
            f"  {r['phase']} {r['epoch'] + 1}: "
            + ", ".join(f"{k} {r[k]:.4g}" for k in ("loss", "acc", "residual") if r.get(k))
        ),
    )
    acc = evaluate(model, args.test)["acc"]
    kept = sum(b.kept_weights for b in spec.blocks.values())
    total = sum(math.prod(b.shape) for b in spec.blocks.values())
    return {
        "block_sparsity": sparsity,
        "block_rows": args.block_rows,
        "prune_head": args.prune_head,
        "test_acc": acc,
        "seconds": time.time() - t,
        "loadavg": list(os.getloadavg()),
        "block_layers": {n: round(b.sparsity, 4) for n, b in spec.blocks.items()},
        "block_weights_kept": kept / total if total else None,
        "pattern_layers": list(spec.layers),
        "num_patterns": spec.num_patterns if spec.layers else None,
        "connectivity": args.connectivity if spec.layers else None,
        "schedule": {
            "admm_epochs": args.admm_epochs,
            "retrain_epochs": args.retrain_epochs,
            "rho": args.rho,
            "rho_growth": args.rho_growth,
            "updates_per_epoch": args.updates,
            "admm_lr": args.admm_lr,
        },
    }


def _label(key: str, r: dict) -> str:
    if key == "dense-more":
        return f"0: dense trained on for the same {r['extra_epochs']} epochs (control)"
    parts = key.split("-")
    text = parts[0]
    for p in parts[1:]:
        text += {"head": ", head pruned too", "quick": ", --quick"}.get(p, f", block_rows {p[1:]}")
    return text


def report(cache_dir: Path, page: Path) -> None:
    """Rewrite the block-sparsity section of `page` from the result files in cache_dir."""
    docs = [
        json.loads(f.read_text()) for f in sorted((cache_dir / "block_accuracy").glob("*.json"))
    ]
    docs = [d for d in docs if "runs" in d]
    lines = [
        SECTION,
        "",
        (
            "Generated by `scripts/block_accuracy.py --report` from the result files of "
            "`scripts/block_accuracy.py --model M --seed N --sparsities ...`; do not edit by hand. "
            "Each run: the dense model trained from scratch (4 epochs, Adam lr 0.002 with cosine "
            "decay, batch 128, the 60k training images; the seed sets initial weights and shuffles), "
            "then `prune.admm(..., block_sparsity=s)` with block_rows 8 and the default dense rules "
            "(stem with <= 3 input channels, weights under 4096 elements): 4 ADMM epochs (Adam lr "
            "0.001, rho 0.01 x3 per epoch, 4 Z/U updates per epoch), hard prune, 8 epochs of masked "
            "retraining (cosine from lr 0.001); top-1 on the 10k test images. *block weights kept* is "
            "the fraction of the block-pruned layers' weights left (the other layers stay dense). "
            "*vs dense* compares with the 4-epoch dense model, which the pruned model has 12 "
            "more epochs of training over; the control row (`--control`: the dense model "
            "trained on for the same 12 epochs, Adam with cosine decay from lr 0.001) shows "
            "how much of that is extra training."
        ),
        "",
    ]
    for name in sorted({d["model"] for d in docs}, key=lambda m: (m not in REPORT_MODELS, m)):
        lines.append(f"- {name}: {DESCRIPTION.get(name, name)}")
    if docs:
        machines = sorted({f"{d['machine']} (`model name` of /proc/cpuinfo)" for d in docs})
        lines += [
            "",
            (
                f"Machine: {', '.join(machines)}, {os.cpu_count()} CPUs, torch "
                f"{', '.join(sorted({d['torch'] for d in docs}))}, "
                f"{', '.join(sorted({str(d['threads']) for d in docs}))} thread(s), shared "
                "with other work (the load average column: 1-minute load at the end of each "
                "run), so the times are upper bounds."
            ),
        ]
    lines += _summary(docs)
    lines += [
        "",
        (
            "| model | seed | dense % | block sparsity | pruned % | vs dense (points) | "
            "vs control (points) | block weights kept | pruning time | load avg | "
            "machine, threads |"
        ),
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    done = set()
    for d in sorted(docs, key=lambda d: (d["model"] not in REPORT_MODELS, d["model"], d["seed"])):
        for key, r in sorted(d["runs"].items(), key=lambda kv: (kv[1]["block_sparsity"], kv[0])):
            if key == f"{r['block_sparsity']:g}" and key != "0":
                done.add((d["model"], d["seed"], r["block_sparsity"]))
            kept = r.get("block_weights_kept")
            control = d["runs"].get("dense-more")
            vs = (
                f"{100 * (r['test_acc'] - control['test_acc']):+.2f}"
                if control and key != "dense-more"
                else ""
            )
            lines.append(
                f"| {d['model']} | {d['seed']} | {100 * d['dense']['test_acc']:.2f} | "
                f"{_label(key, r)} | {100 * r['test_acc']:.2f} | {100 * r['delta']:+.2f} | "
                f"{vs} | {'' if kept is None else f'{kept:.3f}'} | {r['seconds']:.0f} s | "
                f"{r['loadavg'][0]:.1f} | {d['machine']}, {d['threads']} |"
            )
    no_control = sorted(
        {f"{d['model']} seed {d['seed']}" for d in docs if "dense-more" not in d["runs"]}
    )
    missing = []
    for m in REPORT_MODELS:
        for seed in REPORT_SEEDS:
            todo = [f"{s:g}" for s in REPORT_SPARSITIES if (m, seed, s) not in done]
            if todo:
                missing.append(f"{m} seed {seed} at {', '.join(todo)}")
    lines += ["", "Not run yet: " + ("; ".join(missing) if missing else "nothing") + "."]
    if no_control:
        lines[-1] += " No control run for " + ", ".join(no_control) + "."
    lines += [
        (
            "The goal (issue 18, item 4) is 3 seeds per model with mean and spread, each model "
            "within 1 point of dense at 0.75 and the curve over 0.5/0.75/0.9; a single seed "
            "says nothing about the spread."
        ),
        "",
    ]
    old = page.read_text() if page.is_file() else ""
    head = (old[: old.index(SECTION)] if SECTION in old else old).rstrip("\n")
    head = head + "\n\n" if head else ""
    page.write_text(head + "\n".join(lines))


def _summary(docs: list[dict]) -> list[str]:
    """Per model and block sparsity over the seeds run: mean and range of the change against
    each seed's dense model (and against its control, where one ran), and the goal at 0.75."""
    lines = [
        "",
        (
            "Summary over seeds (points against each seed's own dense model; *range* is the "
            "lowest and highest seed; the goal: at 0.75, within 1 point of dense, over 3 seeds):"
        ),
        "",
        "| model | block sparsity | seeds | vs dense, mean | range | vs control, mean | goal at 0.75 |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for model in REPORT_MODELS:
        runs = [d for d in docs if d["model"] == model]
        for s in (0.0, *REPORT_SPARSITIES):
            key = "dense-more" if s == 0.0 else f"{s:g}"
            deltas, controls = [], []
            for d in runs:
                r = d["runs"].get(key)
                if r is None:
                    continue
                deltas.append(100 * r["delta"])
                control = d["runs"].get("dense-more")
                if control and s:
                    controls.append(100 * (r["test_acc"] - control["test_acc"]))
            if not deltas:
                continue
            mean = sum(deltas) / len(deltas)
            goal = ""
            if s == 0.75:
                verdict = "met" if mean >= -1.0 else "missed"
                goal = (
                    verdict if len(deltas) >= 3 else f"{verdict} so far ({len(deltas)} of 3 seeds)"
                )
            label = "0 (control: dense trained on)" if s == 0.0 else f"{s:g}"
            vs_control = (
                f"{sum(controls) / len(controls):+.2f} ({len(controls)})" if controls else ""
            )
            lines.append(
                f"| {model} | {label} | {len(deltas)} | {mean:+.2f} | "
                f"{min(deltas):+.2f} .. {max(deltas):+.2f} | {vs_control} | {goal} |"
            )
    return lines


def dense_control(args, dense, train, log) -> dict:
    """The dense model trained on for ADMM's + retraining's epochs (Adam, cosine from admm_lr):
    how much of a pruned model's figure is extra training rather than pruning."""
    model = copy.deepcopy(dense)
    train.epoch = args.dense_epochs
    seed_everything(args.seed + 1)
    epochs = args.admm_epochs + args.retrain_epochs
    opt = make_optimizer(model.parameters(), "adam", args.admm_lr)
    sched = cosine_schedule(opt, train, epochs)
    t = time.time()
    for e in range(epochs):
        s = run_epoch(model, train, opt, scheduler=sched, desc=f"control {e + 1}", progress=False)
        log(f"  dense control {e + 1}: loss {s['loss']:.4f} train acc {s['acc']:.4f}")
    return {
        "block_sparsity": 0.0,
        "block_rows": None,
        "prune_head": False,
        "test_acc": evaluate(model, args.test)["acc"],
        "seconds": time.time() - t,
        "loadavg": list(os.getloadavg()),
        "extra_epochs": epochs,
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=sorted(MODELS))
    p.add_argument("--report", action="store_true", help="rewrite docs/accuracy.md's section")
    p.add_argument("--docs", type=Path, default=REPO / "docs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sparsities", type=float, nargs="*", default=[0.5, 0.75, 0.9])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument("--block-rows", type=int, default=8)
    p.add_argument("--prune-head", action="store_true")
    p.add_argument(
        "--control",
        action="store_true",
        help="also train the dense model on for ADMM's + retraining's epochs (key 'dense-more')",
    )
    p.add_argument("--num-patterns", type=int, default=8)
    p.add_argument("--connectivity", type=float, default=3.6)
    p.add_argument("--dense-epochs", type=int, default=4)
    p.add_argument("--admm-epochs", type=int, default=4)
    p.add_argument("--retrain-epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--admm-lr", type=float, default=1e-3)
    p.add_argument("--rho", type=float, default=1e-2)
    p.add_argument("--rho-growth", type=float, default=3.0)
    p.add_argument("--updates", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--train-limit", type=int, default=None)
    p.add_argument("--quick", action="store_true", help="1 epoch each on 2048 images (smoke test)")
    args = p.parse_args(argv)
    if args.quick:
        args.dense_epochs = args.admm_epochs = args.retrain_epochs = 1
        args.train_limit = args.train_limit or 2048
    args.cache_dir = args.cache_dir or default_cache_dir()
    if args.report:
        report(args.cache_dir, args.docs / "accuracy.md")
        print(f"wrote the block-sparsity section of {args.docs / 'accuracy.md'}")
        return
    if args.model is None:
        p.error("--model is required (or --report)")
    torch.set_num_threads(args.threads)
    out = args.out or args.cache_dir / "block_accuracy" / f"{args.model}-seed{args.seed}.json"

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {args.model} seed {args.seed}: {msg}", flush=True)

    cfg = FashionConfig(batch_size=args.batch_size, train_limit=args.train_limit, seed=args.seed)
    train, args.test = fashion_data(cfg)
    dense, dense_meta = train_dense(args, train, log)
    doc = json.loads(out.read_text()) if out.is_file() else {}
    if doc.get("dense", {}).get("config") != dense_meta["config"]:
        doc = {}  # another dense model: earlier runs do not compare with it
    doc.update(
        machine=cpu_model(),
        torch=torch.__version__,
        threads=args.threads,
        model=args.model,
        seed=args.seed,
        dense=dense_meta,
    )
    runs = doc.setdefault("runs", {})
    if args.control:
        log("dense control: the same extra epochs, no pruning")
        r = dense_control(args, dense, train, log)
        r["delta"] = r["test_acc"] - dense_meta["test_acc"]
        runs["dense-more"] = r
        write_text_atomic(out, json.dumps(doc, indent=1))
        log(f"dense + {r['extra_epochs']} epochs: test acc {r['test_acc']:.4f}")
    for s in args.sparsities:
        log(f"ADMM at block_sparsity {s:g} (block_rows {args.block_rows})")
        r = prune_one(args, dense, train, s, log)
        r["delta"] = r["test_acc"] - dense_meta["test_acc"]
        key = f"{s:g}" + (f"-r{args.block_rows}" if args.block_rows != 8 else "")
        key += "-head" if args.prune_head else ""
        key += "-quick" if args.quick else ""
        runs[key] = r
        write_text_atomic(out, json.dumps(doc, indent=1))
        log(
            f"block_sparsity {s:g}: test acc {r['test_acc']:.4f} "
            f"({r['delta'] * 100:+.2f} points vs dense, {r['seconds']:.0f} s); wrote {out}"
        )


if __name__ == "__main__":
    main()
