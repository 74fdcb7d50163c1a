"""One-shot, data-free projection of a model onto a pattern library (and, with block_sparsity,
of every other eligible weight onto the block set), plus checks on the result.

`project` is what benchmarks and compiler tests use: it needs no data, is deterministic and is the
exact Euclidean projection (see connectivity.py; for blocks, keeping the largest-norm blocks is the
Euclidean projection onto "at most k blocks non-zero"), so it is also the building block of ADMM's
Z-step and hard pruning. `spec_from_weights` lets a consumer that only has weights recover the
spec, and `verify` is the single place that decides whether weights obey a spec.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .blocks import (
    BlockRules,
    BlockTarget,
    block_eligible,
    block_specs,
    blocks_from_weights,
    check_block_sparsity,
    plan_blocks,
    resolve_block_rules,
    verify_blocks,
)
from .connectivity import project_assignment
from .errors import PruneArgumentError
from .layers import LayerPlan, PruneRules, plan_layers
from .library import check_num_patterns, select_library, validate_library
from .spec import LayerSpec, PruneSpec

__all__ = [
    "Plan",
    "apply_spec",
    "check_arguments",
    "make_plan",
    "project",
    "resolve_library",
    "spec_for_plans",
    "spec_from_weights",
    "verify",
]


def resolve_library(plans: list[LayerPlan], num_patterns: int, library) -> np.ndarray | None:
    """The given library (validated) or the `num_patterns` most frequent over the planned layers.

    None when there is no planned layer and no library was given (a block-only model)."""
    if library is not None:
        return validate_library(library)
    check_num_patterns(num_patterns)
    if not plans:
        return None
    return select_library((p.module.weight for p in plans), num_patterns)


def spec_for_plans(
    plans: list[LayerPlan],
    library: np.ndarray | None,
    connectivity: float,
    weights=None,
    *,
    block_targets: list[BlockTarget] = (),
    block_sparsity: float = 0.0,
    block_rows: int = 8,
    block_weights=None,
) -> PruneSpec:
    """Spec of the projection of each planned layer's weight (or of `weights[i]` when given),
    and of each block target's weight (or of `block_weights[i]`) onto its top-k blocks."""
    layers = OrderedDict()
    for i, p in enumerate(plans):
        w = p.module.weight if weights is None else weights[i]
        layers[p.name] = LayerSpec(p.name, library, project_assignment(w, library, p.ratio).numpy())
    blocks = block_specs(list(block_targets), block_sparsity, block_rows, block_weights)
    return PruneSpec(
        layers,
        len(library) if library is not None else 0,
        float(connectivity),
        blocks=blocks,
        block_sparsity=block_sparsity,
        block_rows=block_rows,
    )


@dataclass
class Plan:
    """What project() and admm() prune: pattern layers with their library, and block weights."""

    layers: list[LayerPlan]
    library: np.ndarray | None
    connectivity: float
    blocks: list[BlockTarget]
    block_sparsity: float
    block_rows: int

    def spec(self, weights=None, block_weights=None) -> PruneSpec:
        """The projection of the current weights (or of the given tensors) onto the plan."""
        return spec_for_plans(
            self.layers,
            self.library,
            self.connectivity,
            weights,
            block_targets=self.blocks,
            block_sparsity=self.block_sparsity,
            block_rows=self.block_rows,
            block_weights=block_weights,
        )

    def weights(self) -> list[torch.Tensor]:
        """Pattern layers' weights, then block targets' weights (the order of spec().weight_masks)."""
        return [p.module.weight for p in self.layers] + [t.weight for t in self.blocks]


def check_block_arguments(block_sparsity, block_rows, dense_layers, block_rules):
    """(sparsity, BlockRules), validated; PruneArgumentError naming a bad argument."""
    return check_block_sparsity(block_sparsity), resolve_block_rules(
        block_rows, dense_layers, block_rules
    )


def check_arguments(
    num_patterns, library, block_sparsity, block_rows, dense_layers, block_rules
) -> tuple[float, BlockRules]:
    """Check what project() and admm() are asked before either touches the model:
    (sparsity, BlockRules), or the error naming the bad argument."""
    sparsity, brules = check_block_arguments(block_sparsity, block_rows, dense_layers, block_rules)
    if library is None:
        check_num_patterns(num_patterns)
    return sparsity, brules


def make_plan(
    model: nn.Module,
    num_patterns: int,
    connectivity: float,
    library,
    rules: PruneRules | None,
    sparsity: float,
    brules: BlockRules,
) -> Plan:
    """Resolve the arguments of project() / admm() (`sparsity` and `brules` from
    check_arguments) against `model`, the library included."""
    if sparsity == 0.0:  # today's behaviour exactly: pattern layers only
        plans = plan_layers(model, connectivity, rules)
        targets: list[BlockTarget] = []
    else:
        plans = plan_layers(model, connectivity, rules, allow_empty=True)
        targets = plan_blocks(model, brules)
        if not plans and not targets:
            eligible = block_eligible(model)
            raise ValueError(
                "no eligible layer to prune: the rules leave no 3x3 groups=1 Conv2d and no "
                f"block-eligible weight (the model has {len(eligible)}: "
                f"{', '.join(eligible) or 'none'}; block_rules: {brules})"
            )
    lib = resolve_library(plans, num_patterns, library)
    return Plan(plans, lib, float(connectivity), targets, sparsity, brules.rows)


@torch.no_grad()
def apply_spec(model: nn.Module, spec: PruneSpec) -> None:
    """Zero, in place, every weight of `model` that `spec` does not keep."""
    params = dict(model.named_parameters(remove_duplicate=False))
    for name, mask in spec.weight_masks().items():
        w = params[name]
        w.mul_(mask.to(device=w.device, dtype=w.dtype))


def project(
    model: nn.Module,
    num_patterns: int = 8,
    connectivity: float = 3.6,
    library=None,
    rules: PruneRules | None = None,
    *,
    block_sparsity: float = 0.0,
    block_rows: int | None = None,
    dense_layers=None,
    block_rules: BlockRules | None = None,
) -> PruneSpec:
    """Project every eligible 3x3 conv of `model` in place (and block-prune the other eligible
    weights when block_sparsity > 0); return the spec.

    library: (P, 3, 3) masks to use; None picks the `num_patterns` most frequent candidates of the
        model's own kernels (num_patterns is ignored when a library is given).
    connectivity: keep ceil(n / connectivity) kernels per layer (>= 1; 1 keeps all).
    rules: which 3x3 layers, and per-layer ratios (PruneRules).
    block_sparsity: fraction of blocks removed in every block-eligible weight (blocks.py):
        1x1 / KxK convs, Linear, LSTM/GRU/RNN gate matrices, attention projections; in [0, 1);
        0 (the default) prunes 3x3 convs only, as before.
    block_rows: rows of dim 0 per block (default 8; block_rules.rows).
    dense_layers: module or parameter names whose block-eligible weights stay dense.
    block_rules: the other dense rules (stem, min_weights; BlockRules).
    A model without 3x3 convs (an LSTM, a transformer) is fine when block_sparsity > 0.
    """
    sparsity, brules = check_arguments(
        num_patterns, library, block_sparsity, block_rows, dense_layers, block_rules
    )
    plan = make_plan(model, num_patterns, connectivity, library, rules, sparsity, brules)
    spec = plan.spec()
    apply_spec(model, spec)
    return spec


def _support_to_assignment(
    name: str, weight: torch.Tensor, library: np.ndarray, strict: bool
) -> np.ndarray | None:
    """Pattern id per kernel: the first library mask covering its support; -1 for zero kernels."""
    support = (weight.detach().cpu().reshape(weight.shape[0], weight.shape[1], 9) != 0).numpy()
    lib = library.reshape(len(library), 9)
    covers = ~np.any(support[:, :, None, :] & ~lib[None, None], axis=-1)  # (O, I, P)
    ok = covers.any(axis=-1)
    if not ok.all():
        if not strict:
            return None
        o, i = np.argwhere(~ok)[0]
        taps = np.flatnonzero(support[o, i]).tolist()
        raise ValueError(
            f"layer {name!r}: kernel [{o}, {i}] has non-zero taps {taps} "
            "that no library pattern covers"
        )
    ids = covers.argmax(axis=-1).astype(np.int32)
    ids[~support.any(axis=-1)] = -1
    return ids


def spec_from_weights(
    model: nn.Module, library, layers=None, *, block_rows: int | None = None, block_layers=None
) -> PruneSpec:
    """Re-derive the spec from weights: each non-zero kernel's pattern is the first covering mask.

    layers: names to derive (each must conform, else ValueError naming the kernel); None takes every
    3x3 groups=1 conv whose weights conform and silently skips dense ones. `connectivity` of the
    result is the measured overall ratio (all kernels / kept kernels).
    library None: no pattern layers (block_rows must be given).
    block_rows: also derive block layers with this block height: a block is kept when any of its
        weights is non-zero; block_layers names the weights (or modules) to derive, None takes
        every block-eligible weight with at least one all-zero block. block_sparsity of the
        result is the measured fraction of removed blocks.
    """
    if block_rows is None:
        if block_layers is not None:
            raise PruneArgumentError("block_layers needs block_rows (the block height)")
        return _pattern_spec_from_weights(model, library, layers)
    blocks = blocks_from_weights(model, block_rows, block_layers)
    if library is None:
        if layers is not None:
            raise PruneArgumentError("layers (pattern layers) needs a library")
        base = PruneSpec()
    else:
        try:
            base = _pattern_spec_from_weights(model, library, layers)
        except ValueError:
            if layers is not None or not blocks:
                raise
            base = PruneSpec()
    if not blocks and not base.layers:
        raise ValueError("no layer of the model has zero blocks; was it block-pruned?")
    total = sum(b.num_blocks for b in blocks.values())
    kept = sum(b.kept_blocks for b in blocks.values())
    return PruneSpec(
        base.layers,
        base.num_patterns,
        base.connectivity,
        blocks=blocks,
        block_sparsity=1.0 - kept / total if total else 0.0,
        block_rows=block_rows,
    )


def _pattern_spec_from_weights(model: nn.Module, library, layers=None) -> PruneSpec:
    lib = validate_library(library)
    if layers is None:
        plans = plan_layers(model, 1.0, PruneRules(connectivity_min_in_channels=0))
        names, strict = [p.name for p in plans], False
    else:
        plans = plan_layers(
            model, 1.0, PruneRules(layers=tuple(layers), connectivity_min_in_channels=0)
        )
        names, strict = list(layers), True
    modules = dict(model.named_modules())
    out = OrderedDict()
    for name in names:
        ids = _support_to_assignment(name, modules[name].weight, lib, strict)
        if ids is not None:
            out[name] = LayerSpec(name, lib, ids)
    if not out:
        raise ValueError("no layer of the model conforms to the library; was it pruned?")
    total = sum(s.assignment.size for s in out.values())
    kept = sum(s.kept_kernels for s in out.values())
    return PruneSpec(out, len(lib), total / kept if kept else float("inf"))


def verify(model: nn.Module, spec: PruneSpec) -> None:
    """Raise ValueError, naming layer, kernel and tap, unless `model`'s weights obey `spec`.

    Checks: each spec layer is a 3x3 groups=1 conv of matching shape, weights are finite, and every
    weight outside the kept pattern (or in a removed kernel) is exactly zero; each block layer is
    a parameter of the spec's shape, finite, and zero in every removed block.
    """
    verify_blocks(model, spec.blocks)
    modules = dict(model.named_modules())
    for name, s in spec.layers.items():
        m = modules.get(name)
        if not isinstance(m, nn.Conv2d) or tuple(m.kernel_size) != (3, 3) or m.groups != 1:
            raise ValueError(f"spec layer {name!r} is not a 3x3 groups=1 Conv2d of the model")
        w = m.weight.detach().cpu()
        if tuple(w.shape[:2]) != s.assignment.shape:
            raise ValueError(
                f"layer {name!r}: weight has {tuple(w.shape[:2])} kernels, "
                f"assignment {s.assignment.shape}"
            )
        if not torch.isfinite(w).all():
            raise ValueError(f"layer {name!r} has NaN or inf weights")
        bad = np.argwhere((w.numpy() != 0) & ~s.mask())
        if len(bad):
            o, i, r, c = bad[0]
            pid = int(s.assignment[o, i])
            why = (
                "the kernel was removed (assignment -1)"
                if pid < 0
                else f"it is outside pattern {pid}"
            )
            raise ValueError(
                f"layer {name!r}: weight[{o}, {i}, {r}, {c}] = {float(w[o, i, r, c])!r} "
                f"is non-zero but {why}"
            )
