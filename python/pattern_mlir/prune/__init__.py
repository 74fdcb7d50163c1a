"""Pattern + connectivity pruning of PyTorch CNNs (PatDNN), the compression half of pattern-mlir.

Typical use:
    spec = prune.project(model, num_patterns=8, connectivity=3.6)        # one shot, no data
    spec = prune.admm(model, train_batches, num_patterns=8, connectivity=3.6)  # with training
    spec = prune.data_free(model, 8, 3.6, input_shape=(1, 28, 28))  # no data: BN statistics
    prune.save("out/model", model, spec); state, spec = prune.load("out/model", model)
admm() and retrain() run data-parallel, unchanged, under torchrun (distributed.py).
The spec (PruneSpec of LayerSpec: library (P,3,3) bool, assignment (O,I) int32, -1 = removed) is
what the compiler consumes; spec_from_weights() re-derives it from weights and verify() checks it.
The Fashion-MNIST demo models live in pattern_mlir.prune.fashion (imported lazily: it reads data).
"""

from .admm import admm, retrain
from .connectivity import kept_count, project_assignment
from .data_free import data_free
from .errors import DataFreeError, DistributedError, PruneError
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
from .spec import LayerSpec, PruneSpec
from .stats import conv_costs
from .train import evaluate

__all__ = [
    "NUM_CANDIDATES",
    "DataFreeError",
    "DistributedError",
    "LayerSpec",
    "MaskEnforcer",
    "PruneError",
    "PruneRules",
    "PruneSpec",
    "admm",
    "apply_spec",
    "best_patterns",
    "candidate_patterns",
    "conv_costs",
    "data_free",
    "eligible_convs",
    "evaluate",
    "kept_count",
    "load",
    "load_state",
    "pattern_votes",
    "plan_layers",
    "project",
    "project_assignment",
    "retrain",
    "save",
    "save_state",
    "select_library",
    "spec_from_weights",
    "validate_library",
    "verify",
]
