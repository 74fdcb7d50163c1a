#!/usr/bin/env python3
"""Measure what pattern pruning costs in accuracy on Fashion-MNIST; write docs/accuracy.{md,png}.

For every seed (default 0 1 2): train the dense FashionCNN; ADMM-prune it at 8 patterns x
connectivity 3.6 (both cached under <cache-dir>/seed<N>/fashion/, see pattern_mlir.prune.fashion);
the one-shot baseline (project, BN recalibration, then masked retraining with ADMM's retraining
budget, optionally once more with ADMM's whole budget); data-free pruning (prune.data_free with its
defaults, no training data); and a sweep over 4/8/12 patterns x connectivity 2/3.6/5 with the cheap
one-shot baseline. The page reports mean, spread and every seed's figure. This is a report, not a
test: about half an hour per seed on one core.

Every result is cached (trained models, plus a memo of the other runs), so the steps can be run
one at a time (--stages); every call writes the page from all that the caches hold, marking
what was not run:

  PYTHONPATH=python .venv/bin/python scripts/accuracy_report.py [--seeds 0 1 2] [--threads 1]
      [--stages admm baselines sweep data-free] [--cache-dir .cache] [--quick]
"""

from __future__ import annotations

import argparse
import copy
import inspect
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

from pattern_mlir.prune import conv_costs, data_free, evaluate, project, retrain
from pattern_mlir.prune.data import Batches
from pattern_mlir.prune.fashion import FashionConfig, fashion_data, train_or_load
from pattern_mlir.prune.train import recalibrate_bn

PATTERNS, RATIOS = (4, 8, 12), (2.0, 3.6, 5.0)
# in this order: each seed's dense + ADMM models (and the one-shot projection, seconds) first
STAGES = ("admm", "data-free", "sweep", "baselines")
# data_free's defaults, read from its signature so that the memo notices when they change
DATA_FREE_DEFAULTS = {
    k: p.default
    for k, p in inspect.signature(data_free).parameters.items()
    if p.default is not inspect.Parameter.empty
    and isinstance(p.default, (int, float))
    and not isinstance(p.default, bool)
}
DATA_FREE_QUICK = {
    "samples": 64,
    "synth_steps": 5,
    "passes_per_epoch": 1,
    "epochs": 1,
    "retrain_epochs": 1,
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--cache-dir", type=Path, default=REPO / ".cache", help="where trained models are cached"
    )
    p.add_argument("--docs", type=Path, default=REPO / "docs", help="where accuracy.md / .png go")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument(
        "--stages",
        nargs="+",
        choices=STAGES,
        default=list(STAGES),
        help="compute only these (any stage trains the dense + ADMM models it lacks); the page "
        "shows every result in the caches and marks what was not run",
    )
    p.add_argument("--dense-epochs", type=int, default=FashionConfig.dense_epochs)
    p.add_argument("--admm-epochs", type=int, default=FashionConfig.admm_epochs)
    p.add_argument("--retrain-epochs", type=int, default=FashionConfig.retrain_epochs)
    p.add_argument("--sweep-retrain-epochs", type=int, default=1)
    p.add_argument(
        "--sweep-train-limit", type=int, default=5000, help="training images for sweep retraining"
    )
    p.add_argument("--widths", type=int, nargs=3, default=list(FashionConfig.widths))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rho", type=float, default=FashionConfig.rho)
    p.add_argument("--rho-growth", type=float, default=FashionConfig.rho_growth)
    p.add_argument("--updates-per-epoch", type=int, default=FashionConfig.updates_per_epoch)
    p.add_argument("--admm-lr", type=float, default=FashionConfig.admm_lr)
    p.add_argument(
        "--retrain-lr", type=float, default=FashionConfig.retrain_lr, help="default: --admm-lr"
    )
    p.add_argument(
        "--equal-budget-baseline",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also retrain the one-shot baseline for ADMM's whole epoch budget",
    )
    p.add_argument("--fresh", action="store_true", help="ignore cached models")
    p.add_argument("--note", help="a paragraph to add to the doc (kept in the results JSON)")
    p.add_argument("--render-only", action="store_true", help="rewrite md/png from cached results")
    p.add_argument(
        "--quick", action="store_true", help="smoke run: tiny model, 2048 training images"
    )
    return p.parse_args(argv)


def config(args) -> FashionConfig:
    """The run's settings from the flags (seed: the first seed); --quick shrinks everything."""
    cfg = FashionConfig(
        widths=tuple(args.widths),
        dense_epochs=args.dense_epochs,
        admm_epochs=args.admm_epochs,
        retrain_epochs=args.retrain_epochs,
        rho=args.rho,
        rho_growth=args.rho_growth,
        updates_per_epoch=args.updates_per_epoch,
        admm_lr=args.admm_lr,
        retrain_lr=args.retrain_lr,
        seed=args.seeds[0],
    )
    if args.quick:
        small = {"widths": (8, 16, 16), "train_limit": 2048}
        cfg = replace(cfg, dense_epochs=1, admm_epochs=1, retrain_epochs=1, **small)
    return cfg


def explicit_command(res: dict) -> str:
    """The command that reproduces `res`, every setting spelled out (defaults may change)."""
    c = res["config"]
    flags = [
        f"--seeds {' '.join(map(str, res['seeds']))}",
        f"--widths {' '.join(map(str, c['widths']))}",
        f"--dense-epochs {c['dense_epochs']}",
        f"--admm-epochs {c['admm_epochs']}",
        f"--retrain-epochs {c['retrain_epochs']}",
        f"--rho {c['rho']:g}",
        f"--rho-growth {c['rho_growth']:g}",
        f"--updates-per-epoch {c['updates_per_epoch']}",
        f"--admm-lr {c['admm_lr']:g}",
        f"--sweep-retrain-epochs {res['sweep_retrain_epochs']}",
        f"--sweep-train-limit {res['sweep_train_images']}",
        f"--threads {res['threads']}",
    ]
    if res.get("equal_budget_baseline"):
        flags.append("--equal-budget-baseline")
    if c.get("train_limit") is not None:
        flags.append("--quick")
    if c.get("retrain_lr") is not None:
        flags.insert(9, f"--retrain-lr {c['retrain_lr']:g}")
    return "PYTHONPATH=python .venv/bin/python scripts/accuracy_report.py " + " ".join(flags)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class Memo:
    """Results of deterministic runs, keyed by everything they depend on (JSON in the cache).

    Lets a re-run that changes only ADMM settings skip the baselines and the sweep, and lets the
    stages of a report run in separate calls. Each entry keeps its compute time and the load
    average when it finished (the machine may be shared).
    """

    def __init__(self, path: Path):
        self.path = path
        self.data = json.loads(path.read_text()) if path.is_file() else {}

    def __call__(self, key: dict, fn, compute: bool = True):
        k = json.dumps(key, sort_keys=True)
        if k not in self.data:
            if not compute:
                return None
            t = time.time()
            r = fn()
            self.data[k] = {**r, "seconds": time.time() - t, "loadavg": list(os.getloadavg())}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.data, indent=1))
        return self.data[k]


def one_shot(dense, train, test, k, ratio, epochs, lr, seed) -> dict:
    """Project a copy of the dense model, then masked-retrain it; accuracy before and after."""
    model = copy.deepcopy(dense)
    spec = project(model, num_patterns=k, connectivity=ratio)
    recalibrate_bn(model, train)
    before = evaluate(model, test)["acc"]
    retrain(model, train, spec, epochs, lr, seed=seed, progress=False)
    return {"oneshot_acc": before, "acc": evaluate(model, test)["acc"], **costs(model, spec)}


def data_free_run(dense, test, settings: dict, seed: int, log) -> dict:
    """prune.data_free on a copy of the dense model (no training data); test accuracy after."""
    model = copy.deepcopy(dense)
    t = time.time()
    marks = {}

    def callback(r):
        if r["phase"] == "synthesis":
            marks["synthesis"] = time.time() - t
        log(
            f"  data-free {r['phase']} {r['epoch'] + 1}: "
            + ", ".join(f"{k} {v:.4g}" for k, v in r.items() if isinstance(v, float))
        )

    spec = data_free(
        model,
        8,
        3.6,
        input_shape=(1, 28, 28),
        seed=seed,
        progress=False,
        callback=callback,
        **settings,
    )
    return {
        "acc": evaluate(model, test)["acc"],
        "synthesis_seconds": marks.get("synthesis"),
        **costs(model, spec),
    }


def costs(model, spec) -> dict:
    c = conv_costs(model, torch.zeros(1, 1, 28, 28), spec)
    return {"mac_x": c["dense_macs"] / c["macs"], "bytes_x": c["dense_bytes"] / c["bytes"], **c}


def run_seed(args, base: FashionConfig, seed: int, memo: Memo, stages, log) -> dict:
    """One seed's figures: `stages` are computed, the others read from the memo (None if absent)."""
    cfg = replace(base, seed=seed)
    cache = args.cache_dir / f"seed{seed}"
    dense, admm_model, admm_spec, test = train_or_load(
        cache, cfg, retrain=args.fresh, progress=False, log=log
    )
    train, _ = fashion_data(cfg)
    rlr = cfg.retrain_lr or cfg.admm_lr  # every masked retraining uses the same learning rate
    sweep_train = Batches(
        train.images, train.labels, cfg.batch_size, True, cfg.seed, args.sweep_train_limit
    )
    metas = [json.loads((cache / "fashion" / f).read_text()) for f in ("dense.json", "pruned.json")]
    rows = {"dense": {"acc": evaluate(dense, test)["acc"], "mac_x": 1.0, "bytes_x": 1.0}}
    rows["admm"] = {"acc": evaluate(admm_model, test)["acc"], **costs(admm_model, admm_spec)}
    seconds = {"dense+admm": sum(m.get("seconds", 0.0) for m in metas)}
    loads = [m["loadavg"] for m in metas if "loadavg" in m]
    log(f"seed {seed}: dense {rows['dense']['acc']:.4f}  admm 8x3.6 {rows['admm']['acc']:.4f}")

    def cached_one_shot(data, k, ratio, epochs, compute):
        key = {"dense": cfg.dense_part(), "images": len(data.images), "k": k, "ratio": ratio}
        key.update(epochs=epochs, lr=rlr, seed=cfg.seed + 1)
        return memo(
            key, lambda: one_shot(dense, data, test, k, ratio, epochs, rlr, cfg.seed + 1), compute
        )

    rows["oneshot"] = r = cached_one_shot(train, 8, 3.6, 0, "admm" in stages)
    if r:
        log(f"seed {seed}: one-shot 8x3.6 + BN recalibration {r['oneshot_acc']:.4f}")
    computing = "baselines" in stages
    total = cfg.admm_epochs + cfg.retrain_epochs
    rows["baseline"] = r = cached_one_shot(train, 8, 3.6, cfg.retrain_epochs, computing)
    if r:
        log(
            f"seed {seed}: one-shot 8x3.6 {r['oneshot_acc']:.4f}, + {cfg.retrain_epochs} "
            f"retrain epochs {r['acc']:.4f}"
        )
    if args.equal_budget_baseline:
        rows["baseline_equal"] = r = cached_one_shot(train, 8, 3.6, total, computing)
        if r:
            log(f"seed {seed}: one-shot 8x3.6 + {total} retrain epochs: {r['acc']:.4f}")
    done = [r for n, r in rows.items() if n in ("oneshot", "baseline", "baseline_equal") and r]
    seconds["baselines"] = sum(r["seconds"] for r in done)
    loads += [r["loadavg"] for r in done]

    settings = DATA_FREE_QUICK if args.quick else {}
    key = {
        "data_free": {**DATA_FREE_DEFAULTS, **settings},
        "dense": cfg.dense_part(),
        "k": 8,
        "ratio": 3.6,
    }
    rows["data_free"] = r = memo(
        key, lambda: data_free_run(dense, test, settings, cfg.seed, log), "data-free" in stages
    )
    if r:
        log(f"seed {seed}: data-free 8x3.6 {r['acc']:.4f}")
        seconds["data-free"] = r["seconds"]
        loads.append(r["loadavg"])

    sweep = []
    for k in PATTERNS:
        for ratio in RATIOS:
            r = cached_one_shot(sweep_train, k, ratio, args.sweep_retrain_epochs, "sweep" in stages)
            if r:
                sweep.append({"patterns": k, "connectivity": ratio, **r})
                log(
                    f"seed {seed}: sweep {k}x{ratio}: {r['acc']:.4f} (one-shot {r['oneshot_acc']:.4f})"
                )
    seconds["sweep"] = sum(p["seconds"] for p in sweep)
    loads += [p["loadavg"] for p in sweep]
    return {"seed": seed, "rows": rows, "sweep": sweep, "seconds": seconds, "loadavg": loads}


# scripts/block_accuracy.py --report writes this section of docs/accuracy.md; keep it
BLOCK_SECTION = "## Block sparsity (issue 18)"


def write_page(path: Path, text: str) -> None:
    """Write accuracy.md, keeping the block-sparsity section another script writes."""
    old = path.read_text() if path.is_file() else ""
    if BLOCK_SECTION in old:
        text = text.rstrip("\n") + "\n\n" + old[old.index(BLOCK_SECTION) :]
    path.write_text(text)


def main(argv=None) -> None:
    args = parse_args(argv)
    path = args.cache_dir / "accuracy.json"
    if args.render_only:
        result = json.loads(path.read_text())
        if args.note:
            result["note"] = args.note
            path.write_text(json.dumps(result, indent=1))
        plot(result, args.docs / "accuracy.png")
        write_page(args.docs / "accuracy.md", markdown(result))
        return
    torch.set_num_threads(args.threads)
    cfg = config(args)
    t0 = time.time()
    log = lambda m: print(f"[{time.time() - t0:7.0f} s] {m}", flush=True)
    memo = Memo(args.cache_dir / "report-memo.json")
    per_seed = {}
    for stage in STAGES:  # stage by stage, so that every seed's ADMM figure comes first
        if stage in args.stages:
            for seed in args.seeds:
                per_seed[seed] = run_seed(args, cfg, seed, memo, (stage,), log)
    result = {
        "config": {k: v for k, v in cfg.to_dict().items() if k != "seed"},
        "seeds": args.seeds,
        "per_seed": [per_seed[s] for s in args.seeds],
        "data_free_settings": {**DATA_FREE_DEFAULTS, **(DATA_FREE_QUICK if args.quick else {})},
        "equal_budget_baseline": args.equal_budget_baseline,
        "sweep_retrain_epochs": args.sweep_retrain_epochs,
        "sweep_train_images": min(args.sweep_train_limit, cfg.train_limit or 60000),
        "threads": args.threads,
        "note": args.note,
        "command": "PYTHONPATH=python .venv/bin/python scripts/accuracy_report.py "
        + " ".join(sys.argv[1:]),
        "machine": f"{cpu_name()} ({platform.machine()}), {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}, {args.threads} thread(s)",
    }
    args.docs.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    plot(result, args.docs / "accuracy.png")
    write_page(args.docs / "accuracy.md", markdown(result))
    log(f"wrote {args.docs / 'accuracy.md'} and accuracy.png")


def summary(values: list[float]) -> dict:
    """mean, sample standard deviation (None for one value), min, max."""
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else None,
        "min": min(values),
        "max": max(values),
        "values": values,
    }


def row_summary(res: dict, name: str, key: str = "acc") -> dict | None:
    """Row `name` over the seeds that have it, and its difference to each seed's own dense model."""
    have = [s for s in res["per_seed"] if s["rows"].get(name) is not None]
    if not have:
        return None
    acc = [s["rows"][name][key] for s in have]
    delta = [a - s["rows"]["dense"]["acc"] for a, s in zip(acc, have)]
    first = have[0]["rows"][name]
    return {
        "acc": summary(acc),
        "delta": summary(delta),
        "by_seed": {s["seed"]: a for s, a in zip(have, acc)},
        "mac_x": first.get("mac_x", 1.0),
        "bytes_x": first.get("bytes_x", 1.0),
    }


def sweep_summary(res: dict) -> list[dict]:
    out = []
    for k in PATTERNS:
        for ratio in RATIOS:
            pts, dense, seeds = [], [], []
            for s in res["per_seed"]:
                for q in s["sweep"]:
                    if q["patterns"] == k and q["connectivity"] == ratio:
                        pts.append(q)
                        dense.append(s["rows"]["dense"]["acc"])
                        seeds.append(s["seed"])
            if not pts:
                continue
            out.append(
                {
                    "patterns": k,
                    "connectivity": ratio,
                    "oneshot": summary([q["oneshot_acc"] for q in pts]),
                    "acc": summary([q["acc"] for q in pts]),
                    "by_seed": dict(zip(seeds, (q["acc"] for q in pts))),
                    "delta": summary([q["acc"] - d for q, d in zip(pts, dense)]),
                    "mac_x": statistics.fmean(q["mac_x"] for q in pts),
                    "bytes_x": statistics.fmean(q["bytes_x"] for q in pts),
                }
            )
    return out


def plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = sweep_summary(res)
    dense = row_summary(res, "dense")
    marks = [
        ("admm", "*", 14, "tab:red", "ADMM 8x3.6"),
        ("baseline", "s", 8, "tab:purple", "one-shot 8x3.6, same retrain"),
        ("data_free", "^", 9, "tab:brown", "data-free 8x3.6"),
    ]
    n = len(res["seeds"])
    fig, axes = plt.subplots(1, 2, figsize=(13.5, 4.2), sharey=True)
    for ax, key, label in zip(
        axes,
        ("mac_x", "bytes_x"),
        ("conv MACs: dense / pruned", "conv weight bytes: dense / packed"),
    ):
        d = 100 * dense["acc"]["mean"]
        ax.axhline(d, color="k", ls="--", lw=1, label=f"dense (mean of {n} seeds)")
        ax.axhline(d - 0.5, color="grey", ls=":", lw=1, label="dense - 0.5 point")
        for k, color in zip(PATTERNS, ("tab:blue", "tab:orange", "tab:green")):
            pts = sorted(
                ((p[key], p["acc"], p["connectivity"]) for p in sweep if p["patterns"] == k),
                key=lambda t: t[0],
            )
            if not pts:
                continue
            xs = [p[0] for p in pts]
            ys = [100 * p[1]["mean"] for p in pts]
            err = [
                [100 * (p[1]["mean"] - p[1]["min"]) for p in pts],
                [100 * (p[1]["max"] - p[1]["mean"]) for p in pts],
            ]
            ax.errorbar(
                xs,
                ys,
                yerr=err,
                fmt="o-",
                color=color,
                capsize=3,
                label=f"{k} patterns, one-shot + {res['sweep_retrain_epochs']} ep on "
                f"{res['sweep_train_images'] // 1000}k images",
            )
            for x, y, c in zip(xs, ys, (p[2] for p in pts)):
                ax.annotate(
                    f"c{c:g}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7
                )
        for name, m, ms, color, lab in marks:
            r = row_summary(res, name)
            if r is None:
                continue
            a = r["acc"]
            ax.errorbar(
                [r[key]],
                [100 * a["mean"]],
                yerr=[[100 * (a["mean"] - a["min"])], [100 * (a["max"] - a["mean"])]],
                fmt=m,
                ms=ms,
                color=color,
                capsize=3,
                label=lab,
            )
        ax.set_xlabel(label + " (x)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"test top-1 % (mean, min..max of {n} seeds)")
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle("Pattern + connectivity pruning of FashionCNN (6 conv layers)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(res: dict) -> str:
    cfg, seeds = res["config"], res["seeds"]
    ep, rt = cfg["admm_epochs"], cfg["retrain_epochs"]
    pct = lambda a: f"{100 * a:.2f}"
    sgn = lambda a: f"{100 * a:+.2f}"
    n = len(seeds)
    per_seed_head = " / ".join(str(s) for s in seeds)
    df = res["data_free_settings"]

    def cells(s: dict) -> str:
        std = "" if s["std"] is None else f"{100 * s['std']:.2f}"
        return f"{pct(s['mean'])} | {std} | {pct(s['min'])}..{pct(s['max'])}"

    def per_seed(r: dict) -> str:
        return " / ".join(pct(r["by_seed"][s]) if s in r["by_seed"] else "not run" for s in seeds)

    def line(label: str, r: dict | None, training: str, dense: bool = False) -> str:
        if r is None:
            return f"| {label} | not run | | | | | | | {training} |"
        vs = (
            ""
            if dense
            else f"{sgn(r['delta']['mean'])} ({sgn(r['delta']['min'])}..{sgn(r['delta']['max'])})"
        )
        if len(r["by_seed"]) < n:
            label += f" ({len(r['by_seed'])} of {n} seeds)"
        return (
            f"| {label} | {cells(r['acc'])} | {per_seed(r)} | {vs} | {r['mac_x']:.1f} "
            f"| {r['bytes_x']:.1f} | {training} |"
        )

    dense, admm, base = (row_summary(res, n_) for n_ in ("dense", "admm", "baseline"))
    oneshot = row_summary(res, "oneshot", "oneshot_acc")
    equal, free = row_summary(res, "baseline_equal"), row_summary(res, "data_free")
    lines = [
        "# Accuracy of pattern pruning (Fashion-MNIST)",
        "",
        "Generated by `scripts/accuracy_report.py`; do not edit by hand. Command:",
        "",
        f"    {explicit_command(res)}",
        "",
        (
            f"Model: `FashionCNN{tuple(cfg['widths'])}` (6 conv 3x3 + BatchNorm + ReLU, `python/pattern_mlir/models/"
            f"fashion_cnn.py`), trained from scratch for {cfg['dense_epochs']} epochs (Adam, lr {cfg['lr']}, cosine, batch "
            f"{cfg['batch_size']}) once per seed ({', '.join(map(str, seeds))}: the seed sets the initial weights, "
            "the shuffling and every pruning run made from that dense model); the 10k test set. All six 3x3 convs get "
            "patterns; the first (1 input channel) keeps all its kernels (`PruneRules.connectivity_min_in_channels=4`). "
            f"ADMM: Adam lr {cfg['admm_lr']:g}, rho {cfg['rho']:g} growing x{cfg['rho_growth']:g} per "
            f"epoch, {cfg['updates_per_epoch']} Z/U updates per epoch; every masked retraining (ADMM's and "
            f"the baselines') uses Adam with cosine decay from lr {cfg.get('retrain_lr') or cfg['admm_lr']:g}. "
            f"Data-free: `prune.data_free` with its defaults ({df['samples']} synthetic inputs, "
            f"{df['synth_steps']} synthesis steps, {df['passes_per_epoch']} passes per epoch, ADMM {df['epochs']} + "
            f"{df['retrain_epochs']} retrain epochs), no training image seen. "
            f"Machine: {res['machine']}."
        ),
        "",
        f"## 8 patterns x connectivity 3.6, {n} seeds",
        "",
        (
            "Mean, sample standard deviation and min..max over the seeds; *vs dense* is each pruned model "
            "against the dense model of its own seed (mean, min..max), in points."
        ),
        "",
        (
            f"| model | mean top-1 % | std | min..max | seeds {per_seed_head} | vs dense | conv MACs x "
            "| weight bytes x | training after dense |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        line("dense", dense, "", dense=True),
        line("ADMM, hard prune, masked retrain", admm, f"{ep} ADMM + {rt} masked retrain epochs"),
        line("one-shot projection + BN recalibration, no retraining", oneshot, "none"),
        line(
            "one-shot + masked retrain (same retrain budget)", base, f"{rt} masked retrain epochs"
        ),
    ]
    if res.get("equal_budget_baseline"):
        lines.append(
            line(
                "one-shot + masked retrain (same total budget)",
                equal,
                f"{ep + rt} masked retrain epochs",
            )
        )
    lines.append(
        line(
            "data-free (synthetic inputs, distillation, ADMM)",
            free,
            f"{df['epochs']} ADMM + {df['retrain_epochs']} retrain epochs on "
            f"{df['samples']} synthetic inputs",
        )
    )
    met = admm["delta"]["mean"] >= -0.005
    verdict = (
        f"Target: ADMM mean within 0.5 point of dense: **{'met' if met else 'NOT met'}** "
        f"({sgn(admm['delta']['mean'])} points; per seed "
        f"{', '.join(sgn(v) for v in admm['delta']['values'])})"
    )
    if base:
        both = [s for s in base["by_seed"] if s in admm["by_seed"]]
        gap = statistics.fmean(admm["by_seed"][s] - base["by_seed"][s] for s in both)
        wins = sum(admm["by_seed"][s] >= base["by_seed"][s] for s in both)
        verdict += (
            f"; ADMM >= one-shot with the same retraining: **{'yes' if gap >= 0 else 'no'}** on the "
            f"mean ({100 * gap:+.2f}), on {wins} of {len(both)} seeds"
        )
    lines += ["", verdict + "."]
    lines += [
        "",
        "## Sweep: patterns x connectivity",
        "",
        (
            f"The cheap one-shot baseline (project, BN recalibration, then {res['sweep_retrain_epochs']} masked "
            f"retraining epoch(s) over the first {res['sweep_train_images']} training images), from each seed's "
            f"dense model; mean and min..max over the seeds. ADMM would do at least as well. MACs and bytes count "
            "all six convs; packed bytes follow the compiler's format (4 B per kept weight, 4 B channel index per kept "
            "kernel, 4 B offset per filter and pattern)."
        ),
        "",
        (
            f"| patterns | connectivity | one-shot % | retrained %, mean | std | min..max | seeds {per_seed_head} "
            "| vs dense, mean | conv MACs x | weight bytes x |"
        ),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    sweep = sweep_summary(res)
    for p in sweep:
        lines.append(
            f"| {p['patterns']} | {p['connectivity']:g} | {pct(p['oneshot']['mean'])} | {cells(p['acc'])} "
            f"| {per_seed(p)} | {sgn(p['delta']['mean'])} | {p['mac_x']:.1f} | {p['bytes_x']:.1f} |"
        )
    if not sweep:
        lines.append("| not run | | | | | | | | | |")
    sec = {
        k: sum(s["seconds"].get(k, 0.0) for s in res["per_seed"])
        for k in ("dense+admm", "baselines", "data-free", "sweep")
    }
    loads = [la[0] for s in res["per_seed"] for la in s["loadavg"]]
    load = (
        f"; 1-minute load average at the end of each step {min(loads):.1f}..{max(loads):.1f}"
        if loads
        else ""
    )
    lines += [
        "",
        *([res["note"], ""] if res.get("note") else []),
        "![accuracy vs compression](accuracy.png)",
        "",
        (
            f"Compute time over the {n} seeds: dense + ADMM {sec['dense+admm'] / 60:.1f} min, one-shot baselines "
            f"{sec['baselines'] / 60:.1f} min, data-free {sec['data-free'] / 60:.1f} min, sweep "
            f"{sec['sweep'] / 60:.1f} min, total {sum(sec.values()) / 60:.1f} min{load}. "
            "The machine was shared with another engineer's builds and benchmarks, so times are upper bounds."
        ),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
