"""The arrays a generated pattern conv function takes, by argument name (``plan.arg_names``).

The JIT runtime and the compiler's lowering pass both call a kernel; this is the one place that
turns FKW arrays into what a plan's function reads, so the two cannot drift apart. The input
buffer, bias, output and filter range are the caller's.

``kernel_order = by_pattern`` reads the FKW stream as it is (``offsets`` per filter and
pattern, ``channels``, ``weights``; ``channel_splits`` with channel blocks).

``kernel_order = by_channel`` reads a filter's kernels in channel order, whatever their pattern:

* ``kernel_starts`` int32[CB, O+1]: kernels of reordered filter f in channel block b are
  ``[kernel_starts[b, f], kernel_starts[b, f+1])`` (CB = 1 without channel blocks). Kernels
  are stored block by block, then filter by filter, then by channel: a block's pass over all
  filters streams through memory. (Filter-major order, each block's few kernels per filter
  2 KB apart, ran slower with weights coming from DRAM, as in a whole model; measured:
  docs/design.md, section 10.)
* ``tap_offsets`` int32[K, T]: where in the flat padded input (``plan.input_shape``) tap t of
  kernel k reads for output row 0, column 0: its channel's phase plane, tap row and column shift;
* ``weights`` float32[K, T]: the FKW weights in the same order.
"""

from __future__ import annotations

import numpy as np

from .emit_conv import ConvKernelPlan
from .fkw import PackedFKW, channel_splits

__all__ = ["CALLER_ARGS", "kernel_arrays"]

CALLER_ARGS = ("input", "bias", "output", "f_begin", "f_end")


def kernel_arrays(plan: ConvKernelPlan, packed: PackedFKW) -> dict[str, np.ndarray]:
    """Every array argument of ``plan``'s function but those in ``CALLER_ARGS``, in order.

    A layer whose kernels were all pruned still gets one (unread) kernel row: memrefs of
    zero rows are not worth a special case in the generated code.
    """
    if plan.by_channel:
        arrays = _by_channel(plan, packed)
    else:
        arrays = {"filter_order": packed.filter_order, "offsets": packed.offsets}
        if plan.channel_blocks > 1:
            arrays["channel_splits"] = channel_splits(packed, plan.schedule.tile_channels)
        arrays["channels"] = packed.channels
        arrays["weights"] = packed.weights
    if not packed.num_kernels:
        for name in ("channels", "tap_offsets", "weights"):
            if name in arrays:
                arrays[name] = np.zeros((1, *arrays[name].shape[1:]), arrays[name].dtype)
    out = {n: arrays[n] for n in plan.arg_names if n not in CALLER_ARGS}
    assert len(out) == len(arrays), (sorted(out), sorted(arrays))
    return out


def _by_channel(plan: ConvKernelPlan, packed: PackedFKW) -> dict[str, np.ndarray]:
    g = plan.geometry
    _, hp, wq = plan.input_shape
    num_patterns, channels = packed.num_patterns, packed.in_channels
    block = plan.schedule.tile_channels or channels
    run = np.repeat(np.arange(packed.out_channels * num_patterns), np.diff(packed.offsets))
    filt, pattern = run // num_patterns, run % num_patterns
    order = np.lexsort((packed.channels, filt, packed.channels // block))
    filt, pattern, chan = filt[order], pattern[order], packed.channels[order].astype(np.int64)

    # Offset of each (pattern, tap) inside one channel's phase planes.
    tap_const = np.zeros(plan.taps.shape[:2], dtype=np.int64)
    for p, taps in enumerate(plan.taps):
        for t, (ky, kx) in enumerate(taps):
            q, shift = g.tap_phase_and_shift(int(kx))
            tap_const[p, t] = (q * hp + int(ky) * g.dilation[0]) * wq + shift
    tap_offsets = chan[:, None] * (g.phases * hp * wq) + tap_const[pattern]
    if channels * g.phases * hp * wq >= 2**31:
        raise ValueError(f"input of {g} too large for 32-bit tap offsets (kernel_order by_channel)")

    o = packed.out_channels
    keys = (chan // block) * o + filt  # sorted
    wanted = np.arange(plan.channel_blocks)[:, None] * o + np.arange(o + 1)[None, :]
    return {
        "filter_order": packed.filter_order,
        "kernel_starts": np.searchsorted(keys, wanted).astype(np.int32),
        "tap_offsets": tap_offsets.astype(np.int32),
        "weights": packed.weights[order],
    }
