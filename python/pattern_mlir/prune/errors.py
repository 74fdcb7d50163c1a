"""The pruning front end's own exception types.

Bad arguments stay ValueError (as everywhere in the package; the block-sparsity arguments raise
PruneArgumentError, which is both); these name failures a caller may want to tell apart: a distributed run that cannot go on, or a model the data-free mode cannot
work from. Each message says what went wrong and what to do about it.
"""

from __future__ import annotations

__all__ = ["DataFreeError", "DistributedError", "PruneArgumentError", "PruneError"]


class PruneError(Exception):
    """Base of the errors pattern_mlir.prune raises beyond plain bad arguments."""


class DistributedError(PruneError, RuntimeError):
    """A multi-process run failed: a rank died or hung, or the ranks disagree on the run."""


class DataFreeError(PruneError, ValueError):
    """The model cannot be pruned without data (for example: it has no BatchNorm statistics)."""


class PruneArgumentError(PruneError, ValueError):
    """A bad argument (block_sparsity, block_rows, dense_layers, ...): names it and its value."""
