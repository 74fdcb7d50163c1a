"""pattern.conv2d through the whole CPU pipeline vs torch.nn.functional.conv2d.

Every case runs the real stages (pack, lower-to-vector, bufferize, LLVM) and
the real JIT on the host; a subset runs as aarch64 code under qemu.
"""

import ctypes
import gc

import numpy as np
import pattern_mlir
import pytest
from conv_cases import ConvCase, conv_module_text, relative_error, sweep, torch_reference

HOST_CASES = sweep(36, seed=1)
# The random draw misses some axes on arm64; these pin them: dilation 2 with padding 2,
# 1-3 channels, 12 patterns, connectivity 5 (filters with no kept kernel), relu6, stride 2.
ARM64_CASES = sweep(6, seed=2) + [
    ConvCase(3, 7, 17, 23, 1, 2, 2, 12, 5.0, "relu6"),
    ConvCase(1, 2, 9, 11, 2, 2, 1, 4, 1.0, "relu", bias=False),
    ConvCase(13, 5, 12, 37, 2, 1, 2, 8, 3.6, "none"),
]


def _check(case: ConvCase, target: str, threads: int = 1) -> None:
    text, weight, bias = conv_module_text(case)
    exe = pattern_mlir.compile_str(text, target, pattern_mlir.CompileOptions(num_threads=threads))
    x = (
        np.random.default_rng(case.seed)
        .standard_normal((1, case.in_channels, case.height, case.width))
        .astype(np.float32)
    )
    got = exe(x).numpy()
    assert relative_error(got, torch_reference(case, x, weight, bias)) <= 1e-4, case


@pytest.mark.parametrize(
    "case",
    HOST_CASES,
    ids=lambda c: (
        f"{c.in_channels}x{c.out_channels}s{c.stride}p{c.padding}d{c.dilation}P{c.num_patterns}"
    ),
)
def test_host_matches_torch(case):
    _check(case, "host")


def test_host_two_threads_matches_torch():
    from pattern_mlir.backend.shared_library import async_runtime_library

    tasks = ctypes.c_int64.in_dll(
        ctypes.CDLL(str(async_runtime_library())), "pattern_mlir_async_tasks"
    )
    before = tasks.value
    _check(ConvCase(16, 19, 13, 21, 1, 1, 1, 8, 3.6, "relu"), "host", threads=2)
    # The first engine is gone: a second threaded one must still find a live runtime
    # (MLIR's own library drops it when an engine dies, and this call crashed).
    gc.collect()
    _check(ConvCase(9, 12, 11, 10, 2, 1, 1, 8, 3.6, "none"), "host", threads=2)
    assert tasks.value > before, "no filter group ran as a task on the async runtime"


@pytest.mark.parametrize(
    "case",
    ARM64_CASES,
    ids=lambda c: f"{c.in_channels}x{c.out_channels}s{c.stride}p{c.padding}d{c.dilation}",
)
def test_arm64_matches_torch(case):
    _check(case, "arm64-neon")
