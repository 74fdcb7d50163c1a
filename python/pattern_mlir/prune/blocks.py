"""Block-structured pruning of every weight that is not a pattern-pruned 3x3 kernel.

Eligible weights (module order; `block_eligible`): Conv2d with groups == 1 and a kernel other
than 3x3 (1x1, 5x5, 7x7, 1x7, ...), Linear (so MultiheadAttention's out_proj and a transformer's
feed-forward layers too), the gate matrices weight_ih_l* / weight_hh_l* (and *_reverse) of LSTM,
GRU and RNN, and MultiheadAttention's in_proj_weight (or q/k/v_proj_weight when the key and
value widths differ). Depthwise and grouped convs stay dense; 3x3 groups=1 convs are pattern
pruning's (layers.py).

A block is R consecutive rows of dim 0 (output channels, output features, gate rows) x one column
of dim 1 (input channel or feature) x the whole kernel window; the last row block is shorter when
R does not divide dim 0. Within each layer the round((1 - sparsity) * blocks) blocks of largest
L2 norm are kept (at least one; round half up), every other block is zero. Why this shape:
docs/pruning.md, "Block sparsity".

What stays dense (BlockRules): convs with in_channels <= stem_in_channels (the RGB or grey stem),
weights with fewer than min_weights elements, and the modules or parameters named in
dense_layers.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .errors import PruneArgumentError
from .spec import BlockSpec

__all__ = [
    "DEFAULT_BLOCK_ROWS",
    "DEFAULT_MIN_WEIGHTS",
    "BlockRules",
    "BlockTarget",
    "block_eligible",
    "block_keep_count",
    "block_scores",
    "block_specs",
    "blocks_from_weights",
    "check_block_rows",
    "check_block_sparsity",
    "plan_blocks",
    "resolve_block_rules",
    "select_blocks",
    "verify_blocks",
]

DEFAULT_BLOCK_ROWS = 8
# 4096 weights are 16 KiB of f32: such a layer costs little dense (it stays in L1), has few
# blocks to choose from (a 10x96 classifier has 2 row blocks per column), and its pruning
# saves almost nothing while its error is not averaged over many weights.
DEFAULT_MIN_WEIGHTS = 4096

_RNN_WEIGHT = re.compile(r"weight_(ih|hh)_l\d+(_reverse)?")


@dataclass(frozen=True)
class BlockRules:
    """What block pruning leaves dense.

    rows: block height R (rows of dim 0 per block); 8 by default, 4 and 16 for measurements.
    min_weights: weights with fewer elements stay dense (DEFAULT_MIN_WEIGHTS = 4096).
    stem_in_channels: convs with at most this many input channels stay dense (3: the RGB stem,
        and a 1-channel stem of grey images; 0 prunes stems too).
    dense_layers: qualified module names (their whole subtree) or parameter names left dense.
    """

    rows: int = DEFAULT_BLOCK_ROWS
    min_weights: int = DEFAULT_MIN_WEIGHTS
    stem_in_channels: int = 3
    dense_layers: tuple[str, ...] = ()


@dataclass(frozen=True)
class BlockTarget:
    """One block-eligible weight: parameter `attr` of module `module_name`; `name` is both."""

    name: str
    module_name: str
    module: nn.Module
    attr: str
    kind: str

    @property
    def weight(self) -> torch.Tensor:
        return getattr(self.module, self.attr)


def check_block_sparsity(value) -> float:
    """`value` as a float in [0, 1), else PruneArgumentError naming block_sparsity."""
    try:
        s = float(value)
    except (TypeError, ValueError):
        s = float("nan")
    if isinstance(value, bool) or not (0.0 <= s < 1.0):
        raise PruneArgumentError(
            f"block_sparsity must be a number in [0, 1) (the fraction of blocks removed; "
            f"0 prunes no block), got {value!r}"
        )
    return s


def check_block_rows(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise PruneArgumentError(
            f"block_rows must be an integer >= 1 (rows of dim 0 per block), got {value!r}"
        )
    return int(value)


def _check_count(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise PruneArgumentError(f"{what} must be an integer >= 0, got {value!r}")
    return int(value)


def resolve_block_rules(
    block_rows: int | None = None,
    dense_layers=None,
    block_rules: BlockRules | None = None,
) -> BlockRules:
    """block_rules (or the defaults) with block_rows / dense_layers replaced when given; checked."""
    rules = block_rules or BlockRules()
    if not isinstance(rules, BlockRules):
        raise PruneArgumentError(f"block_rules must be a BlockRules, got {rules!r}")
    rows = rules.rows if block_rows is None else block_rows
    dense = rules.dense_layers if dense_layers is None else dense_layers
    if isinstance(dense, str):
        raise PruneArgumentError(
            f"dense_layers must be a sequence of names, got the string {dense!r} "
            f"(write ({dense!r},))"
        )
    try:
        dense = tuple(dense)
    except TypeError:
        raise PruneArgumentError(
            f"dense_layers must be a sequence of names, got {dense!r}"
        ) from None
    for n in dense:
        if not isinstance(n, str):
            raise PruneArgumentError(f"dense_layers must hold strings, got {n!r}")
    return BlockRules(
        rows=check_block_rows(rows),
        min_weights=_check_count(rules.min_weights, "block_rules.min_weights"),
        stem_in_channels=_check_count(rules.stem_in_channels, "block_rules.stem_in_channels"),
        dense_layers=dense,
    )


def _module_targets(name: str, m: nn.Module):
    """(attr, kind) of the block-eligible weights of module `m`."""
    if isinstance(m, nn.Conv2d):
        if m.groups == 1 and tuple(m.kernel_size) != (3, 3):
            yield "weight", "conv"
    elif isinstance(m, nn.Linear):
        yield "weight", "linear"
    elif isinstance(m, nn.RNNBase):
        kind = {"LSTM": "lstm", "GRU": "gru"}.get(m.mode, "rnn")
        for attr in m._flat_weights_names:
            if _RNN_WEIGHT.fullmatch(attr):
                yield attr, kind
    elif isinstance(m, nn.MultiheadAttention):
        if m.in_proj_weight is not None:
            yield "in_proj_weight", "attention"
        else:
            for attr in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                yield attr, "attention"


def block_eligible(model: nn.Module) -> OrderedDict[str, BlockTarget]:
    """Every block-eligible weight of `model` by qualified parameter name, in module order."""
    out: OrderedDict[str, BlockTarget] = OrderedDict()
    seen: set[int] = set()
    for mname, m in model.named_modules():
        for attr, kind in _module_targets(mname, m):
            w = getattr(m, attr, None)
            if not isinstance(w, nn.Parameter) or isinstance(
                w, nn.parameter.UninitializedParameter
            ):
                continue
            if w.dim() < 2 or id(w) in seen:  # tied weights: pruned once, under the first name
                continue
            seen.add(id(w))
            name = f"{mname}.{attr}" if mname else attr
            out[name] = BlockTarget(name, mname, m, attr, kind)
    return out


def _covers(name: str, t: BlockTarget) -> bool:
    return t.name == name or t.module_name == name or t.module_name.startswith(name + ".")


def plan_blocks(model: nn.Module, rules: BlockRules) -> list[BlockTarget]:
    """The weights block pruning takes under `rules`, in module order.

    Raises PruneArgumentError for a dense_layers name that is not a module or parameter of the
    model, or that holds no block-eligible weight, and ValueError for non-finite weights.
    """
    targets = block_eligible(model)
    modules = dict(model.named_modules())
    params = dict(model.named_parameters())
    for n in rules.dense_layers:
        if n == "" or (n not in modules and n not in params):
            raise PruneArgumentError(
                f"dense_layers: no module or parameter named {n!r} in the model"
            )
        if not any(_covers(n, t) for t in targets.values()):
            what = type(modules[n]).__name__ if n in modules else "parameter"
            raise PruneArgumentError(
                f"dense_layers: {n!r} ({what}) holds no block-eligible weight (Conv2d groups=1 "
                "other than 3x3, Linear, LSTM/GRU/RNN gate matrices, MultiheadAttention "
                "projections); 3x3 convs are left dense through PruneRules.exclude"
            )
    chosen = []
    for t in targets.values():
        w = t.weight
        if any(_covers(n, t) for n in rules.dense_layers):
            continue
        if t.kind == "conv" and t.module.in_channels <= rules.stem_in_channels:
            continue
        if w.numel() < rules.min_weights:
            continue
        if not torch.isfinite(w).all():
            raise ValueError(f"layer {t.name!r} has NaN or inf weights; cannot prune it")
        chosen.append(t)
    return chosen


@torch.no_grad()
def block_scores(weight: torch.Tensor, rows: int) -> torch.Tensor:
    """(ceil(O / rows), I) squared L2 norms of the blocks of `weight` (O, I, *kernel), float64."""
    w = weight.detach().to(device="cpu", dtype=torch.float64)
    o, i = w.shape[:2]
    per = w.reshape(o, i, -1).square().sum(-1)  # (O, I)
    nb = -(-o // rows)
    if nb * rows != o:
        per = torch.cat([per, per.new_zeros(nb * rows - o, i)])
    return per.reshape(nb, rows, i).sum(1)


def block_keep_count(num_blocks: int, sparsity: float) -> int:
    """round((1 - sparsity) * num_blocks), half up, at least 1."""
    return max(1, min(num_blocks, math.floor((1.0 - sparsity) * num_blocks + 0.5)))


@torch.no_grad()
def select_blocks(weight: torch.Tensor, rows: int, sparsity: float) -> np.ndarray:
    """Kept-block mask (ceil(O / rows), I): the largest-norm blocks (ties: lower index first)."""
    scores = block_scores(weight, rows)
    flat = scores.flatten()
    keep = block_keep_count(flat.numel(), sparsity)
    order = torch.argsort(flat, descending=True, stable=True)
    mask = torch.zeros(flat.numel(), dtype=torch.bool)
    mask[order[:keep]] = True
    return mask.reshape(scores.shape).numpy()


def block_specs(
    targets: list[BlockTarget], sparsity: float, rows: int, tensors=None
) -> OrderedDict[str, BlockSpec]:
    """The BlockSpec of each target's weight (or of `tensors[i]` when given), projected."""
    out: OrderedDict[str, BlockSpec] = OrderedDict()
    for k, t in enumerate(targets):
        w = t.weight if tensors is None else tensors[k]
        mask = select_blocks(w, rows, sparsity)
        out[t.name] = BlockSpec(t.name, t.kind, tuple(w.shape), rows, mask)
    return out


@torch.no_grad()
def _nonzero_blocks(weight: torch.Tensor, rows: int) -> np.ndarray:
    w = weight.detach().cpu()
    o, i = w.shape[:2]
    nz = (w.reshape(o, i, -1) != 0).any(-1)
    nb = -(-o // rows)
    if nb * rows != o:
        nz = torch.cat([nz, nz.new_zeros(nb * rows - o, i)])
    return nz.reshape(nb, rows, i).any(1).numpy()


def blocks_from_weights(
    model: nn.Module, rows: int = DEFAULT_BLOCK_ROWS, layers=None
) -> OrderedDict[str, BlockSpec]:
    """Block specs read off the weights: a block is kept when any of its weights is non-zero.

    layers: parameter or module names to derive (every block-eligible weight they hold), whatever
    their zeros; None: every block-eligible weight with at least one all-zero block.
    """
    rows = check_block_rows(rows)
    targets = block_eligible(model)
    if layers is None:
        chosen = list(targets.values())
    else:
        if isinstance(layers, str):
            layers = (layers,)
        chosen = []
        for n in layers:
            hit = [t for t in targets.values() if _covers(n, t) and t not in chosen]
            if not hit and not any(_covers(n, t) for t in targets.values()):
                raise PruneArgumentError(
                    f"block_layers: {n!r} is not a block-eligible weight or a module holding one"
                )
            chosen += hit
    out: OrderedDict[str, BlockSpec] = OrderedDict()
    for t in chosen:
        mask = _nonzero_blocks(t.weight, rows)
        if layers is None and mask.all():
            continue
        out[t.name] = BlockSpec(t.name, t.kind, tuple(t.weight.shape), rows, mask)
    return out


def verify_blocks(model: nn.Module, blocks) -> None:
    """Raise ValueError, naming weight, block and index, unless the weights obey `blocks`."""
    params = dict(model.named_parameters(remove_duplicate=False))
    for name, b in blocks.items():
        w = params.get(name)
        if w is None:
            raise ValueError(f"spec block layer {name!r} is not a parameter of the model")
        w = w.detach().cpu()
        if tuple(w.shape) != b.shape:
            raise ValueError(
                f"block layer {name!r}: weight has shape {tuple(w.shape)}, spec {b.shape}"
            )
        if not torch.isfinite(w).all():
            raise ValueError(f"block layer {name!r} has NaN or inf weights")
        bad = np.argwhere((w.numpy() != 0) & ~b.weight_mask())
        if len(bad):
            idx = tuple(int(v) for v in bad[0])
            raise ValueError(
                f"block layer {name!r}: weight{list(idx)} = {float(w[idx])!r} is non-zero but "
                f"block [{idx[0] // b.rows}, {idx[1]}] (rows {idx[0] // b.rows * b.rows}.."
                f"{min(b.shape[0], idx[0] // b.rows * b.rows + b.rows) - 1}, column {idx[1]}) "
                "was removed"
            )
