"""ADMM pattern + connectivity pruning, then hard pruning and masked retraining (PatDNN).

The constrained problem  min_W loss(W)  s.t.  W in S  (S: every kernel follows a library pattern,
at most ceil(n/ratio) kernels per layer) is split with a copy Z in S and a scaled dual U:
  W-step: SGD/Adam epochs on  loss(W) + rho/2 * sum ||W - Z + U||^2,
  Z-step: Z = Proj_S(W + U)          (the exact Euclidean projection of project.py),
  U-step: U = U + W - Z.
rho grows on a schedule, pulling W onto S gradually so the network can adapt, instead of the
one-shot projection's abrupt loss of energy. Then W is projected (hard prune) and retrained with
the pruned weights held at exactly zero (MaskEnforcer).

With block_sparsity > 0, S also asks every other eligible weight (1x1/KxK convs, linear, gate
matrices, attention projections; blocks.py) to keep only its top-k blocks of R rows x 1 column;
the Z-step projects those weights onto their largest-norm blocks, and the hard prune and masked
retraining hold the removed blocks at zero.

Under torchrun (or any initialised torch.distributed group) the same calls train data-parallel:
see distributed.py. Rank 0 makes every projection and sends it to the others.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import nn

from . import distributed
from .blocks import BlockRules
from .distributed import model_fingerprint
from .layers import PruneRules
from .masking import MaskEnforcer
from .project import apply_spec, check_arguments, make_plan, verify
from .spec import PruneSpec
from .train import LossFn, cosine_schedule, make_optimizer, run_epoch, seed_everything

__all__ = ["admm", "retrain"]

Callback = Callable[[dict], None]


def _check_epochs(value: int, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _batch_count(data: Iterable) -> int | None:
    try:
        return len(data)  # type: ignore[arg-type]
    except TypeError:
        return None


def _library_digest(library) -> str | None:
    if library is None:
        return None
    return hashlib.sha256(np.asarray(library, dtype=bool).tobytes()).hexdigest()[:16]


def _spec_digest(spec: PruneSpec) -> str:
    return hashlib.sha256(spec.to_json().encode()).hexdigest()[:16]


def retrain(
    model: nn.Module,
    train_data: Iterable,
    spec: PruneSpec,
    epochs: int = 3,
    lr: float = 1e-3,
    *,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    loss_fn: LossFn | None = None,
    seed: int = 0,
    eval_data: Iterable | None = None,
    callback: Callback | None = None,
    progress: bool = True,
) -> None:
    """Masked retraining: train `model` with the weights `spec` prunes held at exactly zero.

    Cosine learning-rate decay; the mask is enforced after every optimizer step and on gradients.
    Under torchrun each rank trains on its shard of `train_data` (see admm()).
    """
    _check_epochs(epochs, "retrain_epochs", 0)
    ranks = distributed.current()
    with ranks.guard("masked retraining"):
        ranks.check_same(
            "retrain()",
            model=model_fingerprint(model),
            spec=_spec_digest(spec),
            batches=_batch_count(train_data),
            epochs=epochs,
            optimizer=(optimizer, lr, weight_decay),
            loss_fn=loss_fn is not None,
            seed=seed,
            callback=callback is not None,
            eval_data=eval_data is not None,
        )
        _retrain(
            ranks,
            model,
            ranks.wrap(model),
            ranks.shard(train_data),
            spec,
            epochs=epochs,
            lr=lr,
            optimizer=optimizer,
            weight_decay=weight_decay,
            loss_fn=loss_fn,
            seed=seed,
            eval_data=eval_data,
            callback=callback,
            progress=progress,
        )


def _retrain(
    ranks: distributed.Ranks,
    model: nn.Module,
    net: nn.Module,
    train: Iterable,
    spec: PruneSpec,
    *,
    epochs: int,
    lr: float,
    optimizer: str,
    weight_decay: float,
    loss_fn: LossFn | None,
    seed: int,
    eval_data: Iterable | None,
    callback: Callback | None,
    progress: bool,
) -> None:
    """retrain() on this rank's shard `train`, stepping through `net` (model, or model in DDP)."""
    seed_everything(seed)
    apply_spec(model, spec)
    opt = make_optimizer(model.parameters(), optimizer, lr, weight_decay)
    sched = cosine_schedule(opt, train, epochs)
    with MaskEnforcer(model, spec, opt):
        for e in range(epochs):
            stats = run_epoch(
                net,
                train,
                opt,
                loss_fn,
                scheduler=sched,
                desc=f"retrain {e + 1}/{epochs}",
                progress=progress and ranks.main,
            )
            ranks.sync_state(model, buffers_only=True)
            stats = ranks.reduce_stats(stats)
            _report(callback, ranks, model, eval_data, loss_fn, phase="retrain", epoch=e, **stats)
    ranks.sync_state(model)
    verify(model, spec)


def _report(callback, ranks, model, eval_data, loss_fn, **record) -> None:
    if callback is None:
        return
    if eval_data is not None:
        ev = ranks.evaluate(model, eval_data, loss_fn)
        record.update(eval_loss=ev["loss"], eval_acc=ev["acc"])
    callback(record)


def admm(
    model: nn.Module,
    train_data: Iterable,
    num_patterns: int = 8,
    connectivity: float = 3.6,
    *,
    library=None,
    rules: PruneRules | None = None,
    block_sparsity: float = 0.0,
    block_rows: int | None = None,
    dense_layers=None,
    block_rules: BlockRules | None = None,
    epochs: int = 4,
    retrain_epochs: int = 3,
    rho: float = 1e-3,
    rho_growth: float = 3.0,
    rho_schedule: Callable[[int], float] | None = None,
    updates_per_epoch: int = 1,
    lr: float = 1e-3,
    retrain_lr: float | None = None,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    loss_fn: LossFn | None = None,
    seed: int = 0,
    eval_data: Iterable | None = None,
    callback: Callback | None = None,
    progress: bool = True,
) -> PruneSpec:
    """Prune `model` in place with ADMM; return the spec its weights obey.

    train_data: re-iterable of (input, label) batches; loss_fn(output, label) defaults to cross
        entropy. library / num_patterns / connectivity / rules: as in project(); the library is
        chosen from the weights before ADMM starts and then fixed.
    block_sparsity / block_rows / dense_layers / block_rules: as in project(); the Z-step then
        also projects every block-eligible weight onto its largest-norm blocks.
    epochs: ADMM epochs (W-steps); rho at ADMM epoch e is rho_schedule(e) if given, else
        rho * rho_growth**e; the dual U is rescaled when rho changes (scaled-form ADMM).
    updates_per_epoch: Z/U updates per epoch (spread evenly over the batches; needs len(data)
        when > 1).
    retrain_epochs, retrain_lr (default lr): masked retraining after the hard prune.
    seed: seeds torch, so a run is reproducible given deterministic data.
    callback(record): called after every epoch with phase, epoch, loss, acc, rho, residual and,
        with eval_data, eval_loss / eval_acc.
    Distributed (torchrun, or an initialised process group; docs/pruning.md): every rank passes
    the same arguments and the whole train_data; each trains on its shard, the figures of the
    records are over all ranks, and every rank returns rank 0's spec. DistributedError when a
    rank is lost or the ranks disagree.
    """
    sparsity, brules = check_arguments(
        num_patterns, library, block_sparsity, block_rows, dense_layers, block_rules
    )
    _check_epochs(epochs, "epochs", 0)
    _check_epochs(retrain_epochs, "retrain_epochs", 0)
    _check_epochs(updates_per_epoch, "updates_per_epoch", 1)
    if not (isinstance(rho, (int, float)) and math.isfinite(rho) and rho > 0):
        raise ValueError(f"rho must be a positive number, got {rho!r}")
    if not (isinstance(rho_growth, (int, float)) and math.isfinite(rho_growth) and rho_growth > 0):
        raise ValueError(f"rho_growth must be a positive number, got {rho_growth!r}")
    schedule = rho_schedule or (lambda e: rho * rho_growth**e)
    ranks = distributed.current()
    with ranks.guard("ADMM pruning"):
        ranks.check_same(
            "admm()",
            model=model_fingerprint(model),
            batches=_batch_count(train_data),
            num_patterns=num_patterns,
            connectivity=float(connectivity),
            library=_library_digest(library),
            rules=repr(rules),
            blocks=(sparsity, repr(brules)),
            epochs=epochs,
            retrain_epochs=retrain_epochs,
            rho=(rho, rho_growth, rho_schedule is not None),
            updates_per_epoch=updates_per_epoch,
            optimizer=(optimizer, lr, retrain_lr, weight_decay),
            loss_fn=loss_fn is not None,
            seed=seed,
            callback=callback is not None,
            eval_data=eval_data is not None,
        )
        train = ranks.shard(train_data)
        net = ranks.wrap(model)  # rank 0's weights everywhere before the library is chosen
        plan = make_plan(model, num_patterns, connectivity, library, rules, sparsity, brules)
        seed_everything(seed)
        weights = plan.weights()  # pattern layers, then block weights
        npat = len(plan.layers)

        @torch.no_grad()
        def projected(tensors):
            spec = ranks.on_main(lambda: plan.spec(tensors[:npat], tensors[npat:]))
            masks = spec.weight_masks().values()  # the order of plan.weights()
            return [t * m.to(t) for t, m in zip(tensors, masks)]

        with torch.no_grad():
            Z = projected([w.detach() for w in weights])
            U = [torch.zeros_like(w) for w in weights]
        interval = 0
        if updates_per_epoch > 1:
            try:
                interval = max(1, len(train) // updates_per_epoch)  # type: ignore[arg-type]
            except TypeError:
                raise ValueError("updates_per_epoch > 1 needs train_data with a len()") from None

        @torch.no_grad()
        def dual_update() -> float:
            nonlocal Z
            Z = projected([w.detach() + u for w, u in zip(weights, U)])
            num = den = 0.0
            for w, z, u in zip(weights, Z, U):
                u.add_(w.detach() - z)
                num += float((w.detach() - z).square().sum())
                den += float(w.detach().square().sum())
            return math.sqrt(num / max(den, 1e-30))

        opt = make_optimizer(model.parameters(), optimizer, lr, weight_decay)
        current = float(schedule(0))
        for e in range(epochs):
            new = float(schedule(e))
            if not (math.isfinite(new) and new > 0):
                raise ValueError(f"rho_schedule({e}) = {new!r}; rho must stay positive")
            with torch.no_grad():
                for u in U:
                    u.mul_(current / new)
            current = new

            def penalty(r=current):
                return 0.5 * r * sum((w - z + u).square().sum() for w, z, u in zip(weights, Z, U))

            def after_step(i):
                if interval and (i + 1) % interval == 0 and (i + 1) // interval < updates_per_epoch:
                    dual_update()

            stats = run_epoch(
                net,
                train,
                opt,
                loss_fn,
                penalty=penalty,
                after_step=after_step,
                desc=f"admm {e + 1}/{epochs} rho={current:.2g}",
                progress=progress and ranks.main,
            )
            residual = dual_update()
            ranks.sync_state(model, buffers_only=True)
            stats = ranks.reduce_stats(stats)
            _report(
                callback,
                ranks,
                model,
                eval_data,
                loss_fn,
                phase="admm",
                epoch=e,
                rho=current,
                residual=residual,
                **stats,
            )

        spec = ranks.on_main(plan.spec)
        apply_spec(model, spec)
        _report(callback, ranks, model, eval_data, loss_fn, phase="hard-prune", epoch=epochs)
        _retrain(
            ranks,
            model,
            net,
            train,
            spec,
            epochs=retrain_epochs,
            lr=retrain_lr or lr,
            optimizer=optimizer,
            weight_decay=weight_decay,
            loss_fn=loss_fn,
            seed=seed + 1,
            eval_data=eval_data,
            callback=callback,
            progress=progress,
        )
    return spec
