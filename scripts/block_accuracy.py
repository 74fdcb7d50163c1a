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
these models that is only the final classifier, so it measures what pruning the head costs.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
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

MODELS = {
    "bottleneck": lambda: FashionBottleneckCNN().to(memory_format=torch.channels_last),
    "vit": lambda: PatchTransformer(),
    "lstm": lambda: RowRNN(cell="lstm"),
    "gru": lambda: RowRNN(cell="gru"),
}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=sorted(MODELS), required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sparsities", type=float, nargs="+", default=[0.5, 0.75, 0.9])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument("--block-rows", type=int, default=8)
    p.add_argument("--prune-head", action="store_true")
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
    torch.set_num_threads(args.threads)
    args.cache_dir = args.cache_dir or default_cache_dir()
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
