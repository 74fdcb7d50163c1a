"""Pruned weights must stay exactly zero through every optimizer step, whatever the optimizer."""

from __future__ import annotations

import pytest
import torch
from pattern_mlir.prune import MaskEnforcer, project

OPTIMIZERS = {
    "sgd-momentum-wd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-2),
    "sgd-nesterov": lambda p: torch.optim.SGD(
        p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3
    ),
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-3),
    "adam-amsgrad": lambda p: torch.optim.Adam(p, lr=1e-2, amsgrad=True),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
}


def _step(model, opt, x, y):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
@pytest.mark.parametrize("warm_state", [False, True], ids=["fresh", "dense-momentum"])
def test_masks_survive_every_step(tiny, batches, make, warm_state):
    opt = make(tiny.parameters())
    if warm_state:  # momentum / Adam moments from dense training point at pruned weights
        for x, y in batches[:3]:
            _step(tiny, opt, x, y)
    spec = project(tiny, connectivity=3.0)
    masks = {n: torch.from_numpy(m) for n, m in ((s.name, s.mask()) for s in spec)}
    modules = dict(tiny.named_modules())
    start = {n: modules[n].weight.detach().clone() for n in masks}
    with MaskEnforcer(tiny, spec, opt):
        for x, y in batches:
            _step(tiny, opt, x, y)
            for n, m in masks.items():
                w = modules[n].weight
                assert (w[~m] == 0).all(), f"{n}: pruned weight moved"
                assert (w.grad[~m] == 0).all(), f"{n}: pruned gradient not masked"
    for n, m in masks.items():
        assert not torch.equal(modules[n].weight[m], start[n][m]), (
            f"{n}: kept weights did not train"
        )


def test_without_enforcer_momentum_revives_pruned_weights(tiny, batches):
    """The control: shows the test above can fail (gradient masking alone is not enough)."""
    opt = OPTIMIZERS["sgd-momentum-wd"](tiny.parameters())
    for x, y in batches[:3]:
        _step(tiny, opt, x, y)
    spec = project(tiny, connectivity=3.0)
    _step(tiny, opt, *batches[3])
    assert (tiny.c3.weight[~torch.from_numpy(spec["c3"].mask())] != 0).any()


def test_remove_detaches_hooks(tiny, batches):
    opt = torch.optim.SGD(tiny.parameters(), lr=0.1)
    spec = project(tiny)
    enforcer = MaskEnforcer(tiny, spec, opt)
    enforcer.remove()
    _step(tiny, opt, *batches[0])
    assert (tiny.c3.weight[~torch.from_numpy(spec["c3"].mask())] != 0).any()
