"""CPU code generation for pattern-pruned 3x3 convs: FKR/FKW packing, schedules, MLIR emission.

Pure Python on top of the upstream ``mlir`` wheel; the runtime that JIT-compiles and calls the
generated functions lives in ``pattern_mlir.backend.host_jit``.

    packed = pack(weights, library, assignment)          # FKR + FKW arrays (fkw.py)
    plan = plan_conv(ConvGeometry.make(C, O, H, W, stride, padding, dilation), library,
                     schedule=None, activation="relu", target="host")   # default_schedule
    text = emit_conv(plan)                               # MLIR: func/scf/memref/vector/arith
    plan.signature(), plan.arg_names, plan.input_shape   # what the caller must pass
"""

from .._registration import register_dialect

register_dialect()  # the package builds and reads pattern IR

from .activation import ACTIVATIONS, Activation
from .emit_conv import ARG_NAMES, ConvKernelPlan, emit_conv, plan_conv
from .fkw import (
    PackedFKW,
    balanced_partition,
    channel_splits,
    csr_nbytes,
    fkw_nbytes,
    library_taps,
    pack,
    project,
    unpack,
    unpack_assignment,
    validate_pattern_layer,
)
from .geometry import ConvGeometry, pad_input_into
from .schedule import Schedule, default_schedule

__all__ = [
    "ACTIVATIONS",
    "ARG_NAMES",
    "Activation",
    "ConvGeometry",
    "ConvKernelPlan",
    "PackedFKW",
    "Schedule",
    "balanced_partition",
    "channel_splits",
    "csr_nbytes",
    "default_schedule",
    "emit_conv",
    "fkw_nbytes",
    "library_taps",
    "pack",
    "pad_input_into",
    "plan_conv",
    "project",
    "unpack",
    "unpack_assignment",
    "validate_pattern_layer",
]
