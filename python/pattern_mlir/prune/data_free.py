"""Pattern pruning without the training data: synthesise inputs, then distil while pruning.

1. Inputs are synthesised from the dense model's BatchNorm statistics (synthesis.py).
2. A frozen copy of the dense model is the teacher; its outputs on those inputs are the labels
   (distill.py).
3. ADMM, hard pruning and masked retraining run exactly as with data (admm.py), on the
   synthetic batches with the distillation loss.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

from torch import nn

from .admm import admm
from .blocks import BlockRules
from .distill import DistillBatches, distillation_loss
from .layers import PruneRules
from .project import check_block_arguments
from .spec import PruneSpec
from .synthesis import check_batchnorm_statistics, synthesize_inputs

__all__ = ["data_free"]


def data_free(
    model: nn.Module,
    num_patterns: int = 8,
    connectivity: float = 3.6,
    *,
    input_shape: tuple[int, ...],
    library=None,
    rules: PruneRules | None = None,
    block_sparsity: float = 0.0,
    block_rows: int | None = None,
    dense_layers=None,
    block_rules: BlockRules | None = None,
    samples: int = 1024,
    synth_steps: int = 100,
    synth_lr: float = 0.1,
    synth_batch_size: int = 256,
    bn_weight: float = 1.0,
    batch_size: int = 128,
    passes_per_epoch: int = 8,
    temperature: float = 4.0,
    epochs: int = 4,
    retrain_epochs: int = 8,
    rho: float = 1e-2,
    rho_growth: float = 3.0,
    updates_per_epoch: int = 4,
    lr: float = 1e-3,
    retrain_lr: float | None = None,
    seed: int = 0,
    eval_data: Iterable | None = None,
    callback: Callable[[dict], None] | None = None,
    progress: bool = True,
) -> PruneSpec:
    """Prune trained `model` in place without training data; return the spec, as admm() does.

    input_shape: one input without the batch dimension, e.g. (1, 28, 28).
    samples, synth_*: how many inputs to synthesise and how (synthesize_inputs()).
    batch_size, passes_per_epoch, temperature: distillation batches, how many times an epoch
        goes over the synthetic inputs, and the softmax temperature.
    epochs ... retrain_lr: the ADMM schedule, as in admm().
    block_sparsity ... block_rules: block pruning of the other eligible weights, as in admm().
    eval_data: optional labelled batches, only to report accuracy through callback.
    Raises DataFreeError when the model has no trained BatchNorm statistics to start from.
    """
    check_block_arguments(block_sparsity, block_rows, dense_layers, block_rules)  # fail early
    check_batchnorm_statistics(model)
    teacher = copy.deepcopy(model).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    inputs = synthesize_inputs(
        teacher,
        tuple(input_shape),
        samples,
        batch_size=synth_batch_size,
        steps=synth_steps,
        lr=synth_lr,
        bn_weight=bn_weight,
        seed=seed,
        progress=progress,
    )
    if callback is not None:
        callback({"phase": "synthesis", "epoch": 0, "samples": len(inputs)})
    return admm(
        model,
        DistillBatches(teacher, inputs, batch_size, passes_per_epoch, seed=seed),
        num_patterns,
        connectivity,
        library=library,
        rules=rules,
        block_sparsity=block_sparsity,
        block_rows=block_rows,
        dense_layers=dense_layers,
        block_rules=block_rules,
        epochs=epochs,
        retrain_epochs=retrain_epochs,
        rho=rho,
        rho_growth=rho_growth,
        updates_per_epoch=updates_per_epoch,
        lr=lr,
        retrain_lr=retrain_lr,
        loss_fn=distillation_loss(temperature),
        seed=seed,
        eval_data=eval_data,
        callback=callback,
        progress=progress,
    )
