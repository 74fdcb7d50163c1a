"""Passes written in Python. Importing this package registers all of them."""

from .._registration import register_dialect

register_dialect()  # the package builds and reads pattern IR

from . import (  # noqa: F401  (each module registers its pass)
    apply_tuning,
    copy_to_linalg,
    distinct_results,
    expand_math,
    fold_constant_generics,
    fuse_elementwise,
    inline_resources,
    lower_to_gpu,
    lower_to_vector,
    pack_fkw,
    raise_blocks,
    raise_conv,
    reorder_filters,
    split_groups,
    vectorize_dense,
    widen_bool_tensors,
)
from .registry import ModulePass, all_passes, lookup, register_pass

__all__ = ["ModulePass", "all_passes", "lookup", "register_pass"]
