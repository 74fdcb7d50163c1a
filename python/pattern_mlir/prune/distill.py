"""Knowledge distillation batches: the dense model's outputs are the labels.

Without training labels the pruned model learns to reproduce the dense model (the teacher):
each batch pairs inputs with the teacher's logits on exactly those inputs, computed after this
epoch's random shift, so that the same synthetic images teach something new every epoch.
The pairs are plain (input, target) batches, so ADMM and masked retraining use them unchanged
with distillation_loss as their loss_fn.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DistillBatches", "distillation_loss"]


class DistillBatches:
    """Re-iterable (input, teacher logits) batches over `inputs` (N, ...), shuffled per pass.

    passes: how many times one epoch goes over the inputs (each pass reshuffled and shifted anew):
    a few thousand synthetic inputs make short epochs, and the ADMM schedule counts epochs.
    """

    def __init__(
        self,
        teacher: nn.Module,
        inputs: torch.Tensor,
        batch_size: int = 128,
        passes: int = 1,
        jitter: int = 2,
        seed: int = 0,
    ):
        if batch_size < 1 or passes < 1 or len(inputs) == 0:
            raise ValueError(
                f"need batch_size >= 1, passes >= 1 and inputs; got {batch_size}, {passes}, "
                f"{len(inputs)}"
            )
        self.teacher, self.inputs = teacher, inputs
        self.batch_size, self.passes, self.jitter, self.seed = batch_size, passes, jitter, seed
        self.epoch = 0

    def __len__(self) -> int:
        return self.passes * ((len(self.inputs) + self.batch_size - 1) // self.batch_size)

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        self.epoch += 1
        for _ in range(self.passes):
            yield from self._one_pass(g)

    @torch.no_grad()
    def _one_pass(self, g: torch.Generator):
        order = torch.randperm(len(self.inputs), generator=g)
        device = next(self.teacher.parameters()).device
        self.teacher.eval()
        for start in range(0, len(order), self.batch_size):
            x = self.inputs[order[start : start + self.batch_size]].to(device)
            if self.jitter:
                j = self.jitter
                dy, dx = (int(v) for v in torch.randint(-j, j + 1, (2,), generator=g))
                x = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
            yield x, self.teacher(x)


def distillation_loss(temperature: float = 4.0):
    """loss_fn(student logits, target): KL to the teacher's softened logits (float targets),
    times T^2 so gradients keep their scale; cross entropy for class-id targets, so the same
    loss_fn evaluates on real labelled data."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    t = float(temperature)

    def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if not target.is_floating_point():
            return F.cross_entropy(out, target)
        return F.kl_div(
            F.log_softmax(out / t, dim=-1),
            F.log_softmax(target / t, dim=-1),
            reduction="batchmean",
            log_target=True,
        ) * (t * t)

    return loss
