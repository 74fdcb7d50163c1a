"""Run dense and depthwise convs through the pattern-conv kernel (one full pattern).

Why: the upstream path lowers a conv to one invocation per output element that accumulates
through memory on every tap, which is several times slower on lavapipe than the pattern kernel
for 3x3 convs (measured: docs/design.md, section 10). A dense KHxKW conv is a pattern conv whose
library holds one mask with every tap, and FKW describes it exactly (every filter keeps every
input channel); a depthwise conv is one whose filter f keeps only input channel f. Both then get
the specialised kernel: filter groups, constant tap offsets, load reuse, fused bias and padding.
Grouped convs other than depthwise stay on the upstream path, and so do 1x1 convs (see
MIN_TAPS).
"""

from __future__ import annotations

import numpy as np
from mlir import ir

from pattern_mlir.codegen.fkw import PackedFKW
from pattern_mlir.gpu.conv_match import match_conv, replace_with_packed
from pattern_mlir.passes.utils.conv_info import collect_ops

#: Discardable attribute telling lowering (and the report) where a packed conv came from.
KIND_ATTR = "gpu.conv_kind"
#: Largest kernel the library attribute holds (KH * KW <= 64).
MAX_TAPS = 64
#: 1x1 convs stay on the upstream path: with one tap per kernel the conv kernel's 4
#: columns per invocation buy no input reuse, and on lavapipe (which vectorises across
#: invocations) the 4-apart accesses made MobileNet-V2's and ResNet-50's 1x1 convs slower
#: than the one-output-per-invocation upstream kernel (measured: docs/gpu.md).
MIN_TAPS = 2


def full_packing(weight: np.ndarray) -> PackedFKW:
    """FKW of a dense OIHW weight with a one-mask library keeping every tap."""
    out_ch, in_ch, kh, kw = weight.shape
    return PackedFKW(
        filter_order=np.arange(out_ch, dtype=np.int32),
        offsets=(np.arange(out_ch + 1, dtype=np.int64) * in_ch).astype(np.int32),
        channels=np.tile(np.arange(in_ch, dtype=np.int32), out_ch),
        weights=np.ascontiguousarray(weight.reshape(out_ch * in_ch, kh * kw), np.float32),
        library=np.ones((1, kh, kw), dtype=bool),
        in_channels=in_ch,
    )


def depthwise_packing(weight: np.ndarray) -> PackedFKW:
    """FKW of a depthwise CHW weight: filter c keeps input channel c only."""
    channels, kh, kw = weight.shape
    return PackedFKW(
        filter_order=np.arange(channels, dtype=np.int32),
        offsets=np.arange(channels + 1, dtype=np.int32),
        channels=np.arange(channels, dtype=np.int32),
        weights=np.ascontiguousarray(weight.reshape(channels, kh * kw), np.float32),
        library=np.ones((1, kh, kw), dtype=bool),
        in_channels=channels,
    )


def convert_dense_convs(module) -> int:
    """Replace every matching dense/depthwise conv in ``module``; return how many."""
    count = 0
    for conv in collect_ops(
        module, "linalg.conv_2d_nchw_fchw", "linalg.depthwise_conv_2d_nchw_chw"
    ):
        match = match_conv(conv)
        if match is None:
            continue
        taps = int(np.prod(match.weight.shape[-2:]))
        if not MIN_TAPS <= taps <= MAX_TAPS:
            continue
        depthwise = conv.name == "linalg.depthwise_conv_2d_nchw_chw"
        packed = depthwise_packing(match.weight) if depthwise else full_packing(match.weight)
        new = replace_with_packed(match, packed)
        new.attributes[KIND_ATTR] = ir.StringAttr.get("depthwise" if depthwise else "dense")
        count += 1
    return count


__all__ = ["convert_dense_convs", "depthwise_packing", "full_packing"]
