"""Inputs synthesised from a trained network's BatchNorm statistics (DeepInversion).

A trained BatchNorm layer remembers the mean and variance of its input over the training set.
Optimising a batch of noise so that every BN layer sees those statistics, while the network
classifies it as chosen classes, gives inputs that exercise the network much as its training
data did, without seeing any of it. Small random shifts each step keep the inputs from
over-fitting single pixels, and a total-variation term keeps them smooth.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .errors import DataFreeError

__all__ = ["batchnorms", "check_batchnorm_statistics", "synthesize_inputs"]


def batchnorms(model: nn.Module) -> dict[str, nn.modules.batchnorm._BatchNorm]:
    """Every BatchNorm layer of `model`, by qualified name."""
    kind = nn.modules.batchnorm._BatchNorm
    return {name: m for name, m in model.named_modules() if isinstance(m, kind)}


def check_batchnorm_statistics(model: nn.Module) -> dict[str, nn.modules.batchnorm._BatchNorm]:
    """The model's BatchNorm layers, or DataFreeError when they hold no statistics to match."""
    bns = batchnorms(model)
    todo = (
        "prune it with data (prune.admm(model, train_batches, ...)) or one-shot without "
        "fine-tuning (prune.project(model, ...))"
    )
    if not bns:
        raise DataFreeError(
            f"{type(model).__name__} has no BatchNorm layer, so there are no training "
            f"statistics to synthesise inputs from; {todo}"
        )
    blind = [n for n, m in bns.items() if not m.track_running_stats or m.running_mean is None]
    if blind:
        raise DataFreeError(
            f"BatchNorm layer {blind[0]!r} keeps no running statistics "
            f"(track_running_stats=False); {todo}"
        )
    untrained = [n for n, m in bns.items() if int(m.num_batches_tracked) == 0]
    if len(untrained) == len(bns):
        raise DataFreeError(
            "no BatchNorm layer has seen a batch (num_batches_tracked = 0): the model looks "
            f"untrained, and its statistics describe no data; train it first, or {todo}"
        )
    return bns


def _total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (
        x[..., :, 1:] - x[..., :, :-1]
    ).abs().mean()


def synthesize_inputs(
    model: nn.Module,
    input_shape: tuple[int, ...],
    count: int = 2048,
    *,
    batch_size: int = 256,
    steps: int = 200,
    lr: float = 0.1,
    bn_weight: float = 1.0,
    tv_weight: float = 1e-2,
    l2_weight: float = 1e-4,
    jitter: int = 2,
    seed: int = 0,
    progress: bool = True,
) -> torch.Tensor:
    """`count` inputs of shape input_shape (no batch dimension) that `model` (trained) likes.

    Loss per step: cross entropy to the target classes (spread evenly over the classes) +
    bn_weight * sum over BN layers of ||batch mean - running mean|| + ||batch var - running var||
    + tv_weight * total variation + l2_weight * mean square. Adam at `lr`, cosine decay; inputs
    are rolled by up to `jitter` pixels each step. The model's weights and statistics are not
    changed.
    """
    if count < 1 or batch_size < 2 or steps < 1:
        raise ValueError(
            f"count must be >= 1, batch_size >= 2 and steps >= 1; got {count}, {batch_size}, "
            f"{steps}"
        )
    bns = check_batchnorm_statistics(model)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    params = list(model.parameters())
    grads_were = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)

    terms: list[torch.Tensor] = []

    def match(bn, inputs, _out):
        x = inputs[0]
        dims = [d for d in range(x.ndim) if d != 1]
        mean = x.mean(dims)
        var = x.var(dims, unbiased=False)
        terms.append(
            torch.linalg.vector_norm(mean - bn.running_mean)
            + torch.linalg.vector_norm(var - bn.running_var)
        )

    hooks = [bn.register_forward_hook(match) for bn in bns.values()]
    g = torch.Generator().manual_seed(seed)
    out = []
    try:
        with torch.no_grad():
            try:
                classes = model(torch.zeros(1, *input_shape, device=device)).shape[-1]
            except RuntimeError as e:
                raise ValueError(
                    f"input_shape {tuple(input_shape)} does not fit the model ({e}); give the "
                    "shape of one input without the batch dimension, e.g. (1, 28, 28)"
                ) from e
        terms.clear()
        bar = tqdm(total=count, desc="synthesise inputs", disable=not progress, leave=False)
        for start in range(0, count, batch_size):
            n = min(batch_size, count - start)
            n_opt = max(n, 2)  # a batch of one has no variance to match
            x = torch.randn(n_opt, *input_shape, generator=g).to(device).requires_grad_(True)
            target = (torch.arange(n_opt) + start) % classes
            target = target[torch.randperm(n_opt, generator=g)].to(device)
            opt = torch.optim.Adam([x], lr=lr)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
            for _ in range(steps):
                dy, dx = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=g))
                shifted = torch.roll(x, shifts=(dy, dx), dims=(-2, -1)) if jitter else x
                terms.clear()
                logits = model(shifted)
                loss = (
                    F.cross_entropy(logits, target)
                    + bn_weight * torch.stack(terms).sum()
                    + tv_weight * _total_variation(x)
                    + l2_weight * x.square().mean()
                )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
            out.append(x.detach()[:n].cpu())
            bar.update(n)
        bar.close()
    finally:
        for h in hooks:
            h.remove()
        for p, r in zip(params, grads_were):
            p.requires_grad_(r)
        model.train(was_training)
    return torch.cat(out)
