"""The runtime arrays a pattern-conv kernel reads, built from FKW packing and the plan.

Why runtime arrays and not constants: as on the CPU path (docs/design.md section 5), only
the tap offsets of each pattern are compile-time constants; weights, input channels
and run boundaries are data, or the kernel would grow with the layer. The arrays
are the FKW stream itself plus two small tables the GPU needs:

* ``runs``: for reordered filter f, pattern p and channel block b, the stream rows
  ``[runs[(f*P+p)*(B+1)+b], runs[(f*P+p)*(B+1)+b+1])`` (``fkw.channel_splits``), so a
  workgroup that staged channel block b walks exactly the kernels that read it;
* ``groups``: boundaries of the output-channel groups (``fkw.balanced_partition``),
  one group per workgroup row of the grid, equal kept-kernel work each.

A layer whose kernels were all pruned still gets one (unused) weight row: SPIR-V
has no zero-length arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pattern_mlir.codegen.fkw import PackedFKW, balanced_partition, channel_splits
from pattern_mlir.codegen.gpu_conv_plan import GpuConvPlan


@dataclass(frozen=True)
class ConvArrays:
    """Kernel arguments other than input and output, in argument order."""

    weights: np.ndarray  # float32 [max(K,1), T]
    channels: np.ndarray  # int32 [max(K,1)]
    runs: np.ndarray  # int32 [O*P*(B+1)]
    groups: np.ndarray  # int32 [G+1]
    filter_order: np.ndarray  # int32 [O]
    bias: np.ndarray  # float32 [O]

    def as_list(self) -> list[tuple[str, np.ndarray]]:
        return [
            ("weights", self.weights),
            ("channels", self.channels),
            ("runs", self.runs),
            ("groups", self.groups),
            ("filter_order", self.filter_order),
            ("bias", self.bias),
        ]


def build_arrays(packed: PackedFKW, plan: GpuConvPlan, bias: np.ndarray | None) -> ConvArrays:
    taps = packed.taps_per_kernel
    weights = packed.weights.reshape(-1, taps).astype(np.float32)
    channels = packed.channels.astype(np.int32)
    if len(channels) == 0:
        weights = np.zeros((1, taps), dtype=np.float32)
        channels = np.zeros(1, dtype=np.int32)
    runs = channel_splits(packed, plan.channel_block)
    if runs.shape[1] != plan.channel_blocks + 1:
        raise AssertionError(
            f"runs table has {runs.shape[1] - 1} blocks, plan {plan.channel_blocks}"
        )
    groups = balanced_partition(packed, plan.groups).astype(np.int32)
    if bias is None:
        bias = np.zeros(packed.out_channels, dtype=np.float32)
    return ConvArrays(
        weights=np.ascontiguousarray(weights),
        channels=np.ascontiguousarray(channels),
        runs=np.ascontiguousarray(runs.reshape(-1).astype(np.int32)),
        groups=np.ascontiguousarray(groups),
        filter_order=np.ascontiguousarray(packed.filter_order.astype(np.int32)),
        bias=np.ascontiguousarray(np.asarray(bias, dtype=np.float32).reshape(-1)),
    )
