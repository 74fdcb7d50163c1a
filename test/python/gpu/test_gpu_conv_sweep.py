"""Pattern convs on lavapipe against torch.nn.functional.conv2d (rel err <= 1e-3).

A seeded random sweep over the configurations the kernels specialise on:
channels (1-3, odd, more than one staged channel block), odd spatial sizes,
stride 1/2/3, padding 0-2 (also asymmetric), dilation 1-2, libraries of 4/8/12
patterns, connectivity 1-5x, filters with no kept kernel, every activation, with
and without bias, and both kernel variants (shared-memory staged and direct).
"""

from __future__ import annotations

import numpy as np
import pytest
from gpu_testlib import ConvCase, conv_module, make_layer, reference, relative_error
from pattern_mlir.gpu import compile_for_vulkan

ACTIVATIONS = ("none", "relu", "relu6", "clamp")


def _random_case(rng: np.random.Generator) -> ConvCase:
    while True:
        dilation = int(rng.integers(1, 3))
        stride = int(rng.integers(1, 4))
        pads = rng.integers(0, 3, 4) if rng.random() < 0.3 else np.repeat(rng.integers(0, 3), 4)
        case = ConvCase(
            n=int(rng.choice([1, 1, 2])),
            cin=int(rng.choice([1, 2, 3, 5, 8, 13])),
            h=int(rng.integers(3, 20)),
            w=int(rng.integers(3, 20)),
            cout=int(rng.choice([1, 3, 4, 7, 16])),
            stride=stride,
            padding=tuple(int(p) for p in pads),
            dilation=dilation,
            patterns=int(rng.choice([4, 8, 12])),
            connectivity=float(rng.uniform(1.0, 5.0)),
            activation=str(rng.choice(ACTIVATIONS)),
            bias=bool(rng.random() < 0.7),
            empty_filters=int(rng.integers(0, 2)),
        )
        if min(case.out_hw) >= 1:
            return case


SWEEP = 24
FIXED = [
    # more channels than one staged block holds (several channel blocks, partial sums)
    (ConvCase(1, 300, 9, 9, 8, 1, (1, 1, 1, 1), 1, 8, 3.6), True),
    # every kernel pruned: the output is bias + activation only
    (ConvCase(1, 3, 7, 7, 4, 1, (1, 1, 1, 1), 1, 4, 1.0, "relu", True, 4), None),
    # vec4 output rows (OW % 4 == 0), dense connectivity, 12 patterns
    (ConvCase(2, 16, 16, 16, 16, 1, (1, 1, 1, 1), 1, 12, 1.0, "relu6"), None),
    # stride 3, dilation 2, asymmetric padding, direct variant forced
    (ConvCase(1, 5, 19, 17, 7, 3, (2, 0, 1, 2), 2, 8, 2.0, "clamp"), False),
    (ConvCase(1, 5, 19, 17, 7, 3, (2, 0, 1, 2), 2, 8, 2.0, "clamp"), True),
]


def _run(case: ConvCase, staged, seed: int, device) -> float:
    rng = np.random.default_rng(seed)
    weights, library, assignment, bias = make_layer(case, rng)
    text = conv_module(case, weights, library, assignment, bias)
    x = rng.standard_normal((case.n, case.cin, case.h, case.w)).astype(np.float32)
    with compile_for_vulkan(text, device=device, staged=staged) as exe:
        (got,) = exe(x)
    return relative_error(got, reference(case, x, weights, bias))


@pytest.mark.parametrize("seed", range(SWEEP))
def test_random_configuration(seed, device):
    rng = np.random.default_rng(1000 + seed)
    case = _random_case(rng)
    staged = [None, True, False][seed % 3]
    err = _run(case, staged, seed, device)
    assert err <= 1e-3, f"{case} staged={staged}: relative error {err}"


@pytest.mark.parametrize("case,staged", FIXED, ids=lambda v: str(v)[:60])
def test_edge_configuration(case, staged, device):
    err = _run(case, staged, 7, device)
    assert err <= 1e-3, f"{case} staged={staged}: relative error {err}"
