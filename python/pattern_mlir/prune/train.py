"""Small training and evaluation loops shared by ADMM, masked retraining and the Fashion demo.

`train_data` is any re-iterable of (input, label) batches (a list, a DataLoader, data.Batches).
An epoch that yields no batch is an error: it means empty data or a one-shot iterator that was
already consumed, and training on nothing would silently return the untouched model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

__all__ = [
    "cosine_schedule",
    "evaluate",
    "evaluation_sums",
    "make_optimizer",
    "recalibrate_bn",
    "run_epoch",
    "seed_everything",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def seed_everything(seed: int) -> None:
    """Seed torch's global generator (DataLoader shuffling without a generator uses it too)."""
    torch.manual_seed(seed)


def make_optimizer(
    params, name: str, lr: float, weight_decay: float = 0.0, momentum: float = 0.9
) -> torch.optim.Optimizer:
    """'adam', 'adamw' or 'sgd' (with momentum); anything else is a ValueError."""
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=momentum > 0
        )
    raise ValueError(f"optimizer must be 'adam', 'adamw' or 'sgd', got {name!r}")


def cosine_schedule(optimizer: torch.optim.Optimizer, data: Iterable, epochs: int):
    """Per-batch cosine decay to 0 when the data has a length, else None (constant lr)."""
    try:
        total = len(data) * epochs  # type: ignore[arg-type]
    except TypeError:
        return None
    if total == 0:
        return None
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
    )


def _unpack(batch, device) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError(f"each batch must be an (input, label) pair, got {type(batch).__name__}")
    x, y = batch
    return x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def _correct(out: torch.Tensor, y: torch.Tensor) -> int | None:
    """Top-1 hits for classification outputs; None when accuracy does not apply."""
    if out.ndim == 2 and y.ndim == 1 and not y.is_floating_point() and len(out) == len(y):
        return int((out.argmax(1) == y).sum())
    return None


def run_epoch(
    model: nn.Module,
    data: Iterable,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn | None = None,
    penalty: Callable[[], torch.Tensor] | None = None,
    after_step: Callable[[int], None] | None = None,
    scheduler=None,
    desc: str = "train",
    progress: bool = True,
) -> dict:
    """One pass over `data`; returns {'loss', 'acc', 'batches'} (acc None if not classification).

    penalty: extra term added to the loss (ADMM's augmented Lagrangian); after_step(i) runs after
    optimizer step i; scheduler steps once per batch.
    """
    loss_fn = loss_fn or F.cross_entropy
    device = next(model.parameters()).device
    model.train()
    total_loss, hits, seen, batches = 0.0, 0, 0, 0
    acc_ok = True
    bar = tqdm(data, desc=desc, disable=not progress, leave=False, dynamic_ncols=True)
    for batch in bar:
        x, y = _unpack(batch, device)
        out = model(x)
        loss = loss_fn(out, y)
        full = loss + penalty() if penalty is not None else loss
        optimizer.zero_grad(set_to_none=True)
        full.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if after_step is not None:
            after_step(batches)
        batches += 1
        total_loss += float(loss.detach()) * len(x)
        seen += len(x)
        c = _correct(out.detach(), y)
        acc_ok = acc_ok and c is not None
        hits += c or 0
        if batches % 10 == 0:
            post = {"loss": f"{total_loss / seen:.4f}"}
            if acc_ok:
                post["acc"] = f"{hits / seen:.4f}"
            bar.set_postfix(post)
    bar.close()
    if batches == 0:
        raise ValueError(
            f"{desc}: the data yielded no batch (empty, or a one-shot iterator already consumed)"
        )
    return {
        "loss": total_loss / seen,
        "acc": hits / seen if acc_ok else None,
        "batches": batches,
        "samples": seen,
    }


@torch.no_grad()
def evaluation_sums(
    model: nn.Module, data: Iterable, loss_fn: LossFn | None = None
) -> tuple[float, int | None, int]:
    """(summed loss, top-1 hits or None, samples) of `model` over `data` in eval mode.

    Sums rather than means, so that shards evaluated on several ranks add up exactly.
    """
    loss_fn = loss_fn or F.cross_entropy
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss, hits, seen = 0.0, 0, 0
    acc_ok = True
    for batch in data:
        x, y = _unpack(batch, device)
        out = model(x)
        total_loss += float(loss_fn(out, y)) * len(x)
        seen += len(x)
        c = _correct(out, y)
        acc_ok = acc_ok and c is not None
        hits += c or 0
    model.train(was_training)
    return total_loss, hits if acc_ok else None, seen


def evaluate(model: nn.Module, data: Iterable, loss_fn: LossFn | None = None) -> dict:
    """Mean loss and top-1 accuracy of `model` over `data` in eval mode (and the sample count)."""
    total_loss, hits, seen = evaluation_sums(model, data, loss_fn)
    if seen == 0:
        raise ValueError("evaluate: the data yielded no batch")
    acc = None if hits is None else hits / seen
    return {"loss": total_loss / seen, "acc": acc, "samples": seen}


@torch.no_grad()
def recalibrate_bn(model: nn.Module, data: Iterable, max_batches: int = 50) -> None:
    """Re-estimate BatchNorm running statistics on `data` (no weight changes).

    Projection shrinks conv outputs, so the running mean/variance learned on the dense model no
    longer match; without this a one-shot pruned model's eval accuracy says more about stale BN
    statistics than about the weights. Uses a cumulative average over up to `max_batches` batches.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    device = next(model.parameters()).device
    saved = [(m.momentum, m.training) for m in bns]
    was_training = model.training
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    for i, batch in enumerate(data):
        if i >= max_batches:
            break
        model(_unpack(batch, device)[0])
    for m, (momentum, training) in zip(bns, saved):
        m.momentum = momentum
        m.train(training)
    model.train(was_training)
