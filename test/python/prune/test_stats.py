"""Cost accounting (MACs, packed bytes) and BatchNorm recalibration after projection."""

from __future__ import annotations

import torch
from pattern_mlir.prune import conv_costs, project
from pattern_mlir.prune.train import recalibrate_bn


def test_conv_costs_dense_and_pruned(tiny):
    x = torch.zeros(1, 1, 8, 8)
    dense = conv_costs(tiny, x)
    weights = 1 * 6 * 9 + 6 * 8 * 9 + 8 * 8 * 9 + 8 * 8  # c1, c2, c3, 1x1 point
    assert dense == {
        "dense_macs": 64 * weights,
        "macs": 64 * weights,
        "dense_bytes": 4 * weights,
        "bytes": 4 * weights,
    }
    spec = project(tiny, num_patterns=3, connectivity=2.0)
    pruned = conv_costs(tiny, x, spec)
    taps = sum(4 * s.kept_kernels for s in spec)  # 4-tap patterns
    assert pruned["macs"] == 64 * (taps + 64)
    packed = sum(
        4 * 4 * s.kept_kernels + 4 * s.kept_kernels + 4 * s.assignment.shape[0] * 3 for s in spec
    )
    assert pruned["bytes"] == packed + 4 * 64
    assert pruned["dense_macs"] == dense["dense_macs"]


def test_recalibrate_bn_matches_batch_statistics(tiny, batches):
    with torch.no_grad():
        tiny.c2.weight.mul_(0.1)  # as if projection had shrunk the layer
    recalibrate_bn(tiny, batches[:2])
    acts = []
    h = tiny.c2.register_forward_hook(lambda m, i, o: acts.append(o))
    with torch.no_grad():
        for x, _ in batches[:2]:
            tiny(x)
    h.remove()
    out = torch.cat(acts)
    assert torch.allclose(tiny.bn.running_mean, out.mean((0, 2, 3)), atol=1e-5)
    assert tiny.bn.momentum == 0.1 and tiny.training
