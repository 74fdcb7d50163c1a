"""Pattern + connectivity pruning of PyTorch CNNs (PatDNN), the compression half of pattern-mlir,
and block-structured pruning of every other weight (1x1/KxK convs, linear, LSTM/GRU gate
matrices, attention projections; blocks.py).

Typical use:
    spec = prune.project(model, num_patterns=8, connectivity=3.6)        # one shot, no data
    spec = prune.admm(model, train_batches, num_patterns=8, connectivity=3.6)  # with training
    spec = prune.data_free(model, 8, 3.6, input_shape=(1, 28, 28))  # no data: BN statistics
    spec = prune.project(model, 8, 3.6, block_sparsity=0.75)  # + 75 % of other weights, blocks
    prune.save("out/model", model, spec); state, spec = prune.load("out/model", model)
admm() and retrain() run data-parallel, unchanged, under torchrun (distributed.py).
The spec (PruneSpec of LayerSpec: library (P,3,3) bool, assignment (O,I) int32, -1 = removed) is
what the compiler consumes, with BlockSpec per block-pruned weight (kept-block mask, (ceil(O/R), I)
bool); spec_from_weights() re-derives it from weights and verify() checks it.
The Fashion-MNIST demo models live in pattern_mlir.prune.fashion (imported lazily: it reads data).
"""

from .admm import admm, retrain
from .blocks import (
    DEFAULT_BLOCK_ROWS,
    DEFAULT_MIN_WEIGHTS,
    BlockRules,
    block_eligible,
    plan_blocks,
    select_blocks,
)
from .connectivity import kept_count, project_assignment
from .data_free import data_free
from .errors import DataFreeError, DistributedError, PruneArgumentError, PruneError
from .io import load, load_state, save, save_state
from .layers import PruneRules, eligible_convs, plan_layers
from .library import (
    NUM_CANDIDATES,
    best_patterns,
    candidate_patterns,
    pattern_votes,
    select_library,
    validate_library,
)
from .masking import MaskEnforcer
from .project import apply_spec, project, spec_from_weights, verify
from .spec import BlockSpec, LayerSpec, PruneSpec
from .stats import conv_costs
from .train import evaluate

__all__ = [
    "DEFAULT_BLOCK_ROWS",
    "DEFAULT_MIN_WEIGHTS",
    "NUM_CANDIDATES",
    "BlockRules",
    "BlockSpec",
    "DataFreeError",
    "DistributedError",
    "LayerSpec",
    "MaskEnforcer",
    "PruneArgumentError",
    "PruneError",
    "PruneRules",
    "PruneSpec",
    "admm",
    "apply_spec",
    "best_patterns",
    "block_eligible",
    "candidate_patterns",
    "conv_costs",
    "data_free",
    "eligible_convs",
    "evaluate",
    "kept_count",
    "load",
    "load_state",
    "pattern_votes",
    "plan_blocks",
    "plan_layers",
    "project",
    "project_assignment",
    "retrain",
    "save",
    "save_state",
    "select_blocks",
    "select_library",
    "spec_from_weights",
    "validate_library",
    "verify",
]
