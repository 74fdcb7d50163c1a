"""Fashion-MNIST models for the demo and the accuracy report: train once, then load from a cache.

`train_or_load()` returns a dense FashionCNN, its ADMM pattern-pruned copy, the spec and the test
batches. Each model is cached under <cache>/fashion/ (safetensors + JSON) with the config that made
it. With no config given, whatever is cached is used (so the demo reuses the accuracy report's
models); otherwise a cached model is reused only if it was made with the same settings.
"""

from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from ..models.fashion_cnn import FashionCNN
from .admm import admm
from .atomic import write_text_atomic
from .data import Batches, load_fashion_mnist
from .io import load, load_state, save, save_state
from .spec import PruneSpec
from .train import cosine_schedule, evaluate, make_optimizer, run_epoch, seed_everything

__all__ = [
    "FashionConfig",
    "Trained",
    "default_cache_dir",
    "fashion_data",
    "train_dense",
    "train_or_load",
]


@dataclass(frozen=True)
class FashionConfig:
    """Everything that determines the trained models. The defaults are the settings of
    docs/accuracy.md (ADMM 8 x 3.6 within 0.3 point of dense); about 9 minutes on 2 cores."""

    widths: tuple[int, int, int] = (24, 48, 96)
    batch_size: int = 128
    dense_epochs: int = 4
    lr: float = 2e-3
    num_patterns: int = 8
    connectivity: float = 3.6
    admm_epochs: int = 4
    retrain_epochs: int = 8
    rho: float = 1e-2
    rho_growth: float = 3.0
    admm_lr: float = 1e-3
    retrain_lr: float | None = None  # None: admm_lr
    updates_per_epoch: int = 4
    train_limit: int | None = None
    seed: int = 0

    def dense_part(self) -> dict:
        keys = ("widths", "batch_size", "dense_epochs", "lr", "train_limit", "seed")
        return {k: v for k, v in self.to_dict().items() if k in keys}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FashionConfig:
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        if "widths" in d:
            d["widths"] = tuple(d["widths"])
        return cls(**d)


class Trained(NamedTuple):
    dense: nn.Module
    pruned: nn.Module
    spec: PruneSpec
    test_data: Batches


def default_cache_dir() -> Path:
    """$PATTERN_MLIR_CACHE, else <repo>/.cache in a source checkout, else ./.cache."""
    if os.environ.get("PATTERN_MLIR_CACHE"):
        return Path(os.environ["PATTERN_MLIR_CACHE"])
    repo = Path(__file__).resolve().parents[3]
    if (repo / ".git").exists() or (repo / "pyproject.toml").exists():
        return repo / ".cache"
    return Path.cwd() / ".cache"


def fashion_data(cfg: FashionConfig) -> tuple[Batches, Batches]:
    train = Batches(
        *load_fashion_mnist("train"),
        batch_size=cfg.batch_size,
        shuffle=True,
        seed=cfg.seed,
        limit=cfg.train_limit,
    )
    test = Batches(*load_fashion_mnist("test"), batch_size=500)
    return train, test


def _new_model(cfg: FashionConfig) -> nn.Module:
    seed_everything(cfg.seed)
    return FashionCNN(cfg.widths).to(memory_format=torch.channels_last)


def train_dense(cfg: FashionConfig, train: Batches, progress: bool = True, log=print) -> nn.Module:
    """Adam with per-batch cosine decay from cfg.lr, cfg.dense_epochs epochs."""
    model = _new_model(cfg)
    opt = make_optimizer(model.parameters(), "adam", cfg.lr)
    sched = cosine_schedule(opt, train, cfg.dense_epochs)
    for e in range(cfg.dense_epochs):
        t = time.time()
        s = run_epoch(
            model,
            train,
            opt,
            scheduler=sched,
            desc=f"dense {e + 1}/{cfg.dense_epochs}",
            progress=progress,
        )
        log(
            f"dense epoch {e + 1}: loss {s['loss']:.4f} train acc {s['acc']:.4f} "
            f"({time.time() - t:.0f} s)"
        )
    return model


def _read_meta(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _write_meta(path: Path, config: dict, test_acc: float, started: float) -> None:
    """Describe a model just cached: the config the cache is checked against, its test
    accuracy, and what training it cost (seconds since `started`, the load meanwhile)."""
    meta = {
        "config": config,
        "test_acc": test_acc,
        "seconds": time.time() - started,
        "loadavg": list(os.getloadavg()),
    }
    write_text_atomic(path, json.dumps(meta, indent=1))


def train_or_load(
    cache_dir: str | Path | None = None,
    config: FashionConfig | None = None,
    *,
    retrain: bool = False,
    progress: bool = True,
    log=print,
) -> Trained:
    """(dense, pruned, spec, test_data): from the cache when possible, else trained and cached.

    config None: use any cached models, training missing ones with FashionConfig() defaults.
    retrain: ignore the cache. Each model's test accuracy is logged and kept in its JSON file.
    """
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    root = root / "fashion"
    root.mkdir(parents=True, exist_ok=True)
    dense_meta, pruned_meta = _read_meta(root / "dense.json"), _read_meta(root / "pruned.json")
    if config is None:
        cfg = FashionConfig.from_dict(pruned_meta["config"]) if pruned_meta else FashionConfig()
    else:
        cfg = config
    train, test = fashion_data(cfg)

    dense = _new_model(cfg)
    cached_dense = FashionConfig.from_dict(dense_meta["config"]) if dense_meta else None
    if not retrain and cached_dense and cached_dense.dense_part() == cfg.dense_part():
        load_state(root / "dense.safetensors", dense)
        # ADMM goes on with the shuffles it would see right after training the dense model here
        # (Batches shuffles by epoch number): the cached and the fresh run prune alike
        train.epoch = cfg.dense_epochs
        log(f"dense model loaded from {root} (test acc {dense_meta['test_acc']:.4f})")
    else:
        t = time.time()
        dense = train_dense(cfg, train, progress, log)
        acc = evaluate(dense, test)["acc"]
        save_state(root / "dense.safetensors", dense)
        _write_meta(root / "dense.json", cfg.dense_part(), acc, t)
        log(f"dense test acc {acc:.4f}; saved to {root}")
        pruned_meta = None  # its parent changed

    pruned = _new_model(cfg)
    if (
        not retrain
        and pruned_meta
        and FashionConfig.from_dict(pruned_meta["config"]) == cfg
        and (root / "pruned").is_dir()
    ):
        _, spec = load(root / "pruned", pruned)
        log(f"pruned model loaded from {root} (test acc {pruned_meta['test_acc']:.4f})")
    else:
        t = time.time()
        pruned = copy.deepcopy(dense)
        spec = admm(
            pruned,
            train,
            cfg.num_patterns,
            cfg.connectivity,
            epochs=cfg.admm_epochs,
            retrain_epochs=cfg.retrain_epochs,
            rho=cfg.rho,
            rho_growth=cfg.rho_growth,
            lr=cfg.admm_lr,
            retrain_lr=cfg.retrain_lr,
            updates_per_epoch=cfg.updates_per_epoch,
            seed=cfg.seed,
            progress=progress,
            eval_data=test,
            callback=lambda r: log(_fmt(r)),
        )
        acc = evaluate(pruned, test)["acc"]
        save(root / "pruned", pruned, spec)
        _write_meta(root / "pruned.json", cfg.to_dict(), acc, t)
        log(f"ADMM-pruned test acc {acc:.4f}; saved to {root}")
    dense.eval()
    pruned.eval()
    return Trained(dense, pruned, spec, test)


def _fmt(r: dict) -> str:
    parts = [f"{r['phase']} epoch {r['epoch'] + 1}"]
    for k in ("loss", "acc", "rho", "residual", "eval_acc"):
        if r.get(k) is not None:
            parts.append(f"{k} {r[k]:.4g}")
    return ": ".join(parts[:1]) + ": " + ", ".join(parts[1:]) if len(parts) > 1 else parts[0]
