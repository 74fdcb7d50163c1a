"""ARM64 back end runtime: compile with llc, link, run under qemu, compare with numpy."""

from __future__ import annotations

import numpy as np
import pytest
from aarch64_testlib import needs_cross
from pattern_mlir.backend.aarch64_build import count_fmla, function_asm, has_fmla
from pattern_mlir.runtime.aarch64 import (
    INDEX,
    Aarch64Module,
    Aarch64RunError,
    ArgumentError,
    Call,
    MemRef,
    Scalar,
    signature_from_mlir,
)
from pattern_mlir.runtime.toolchain import ToolNotFoundError, tool_env_var

pytestmark = needs_cross
RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def test_artifacts_and_fmla(kernels_artifacts):
    art = kernels_artifacts
    for path in (art.ll_path, art.obj_path, art.asm_path, art.so_path):
        assert path.is_file() and path.stat().st_size > 0
    assert art.cpu == "cortex-a76"
    assert has_fmla(art.asm)
    assert count_fmla(function_asm(art.asm, "fma4")) >= 1
    assert count_fmla(function_asm(art.asm, "dot4")) >= 4
    assert not has_fmla(function_asm(art.asm, "axpk2d"), "2d")
    with pytest.raises(KeyError, match="functions: .*fma4"):
        function_asm(art.asm, "no_such_function")


def test_signature_from_mlir(kernels_text):
    f32 = np.dtype(np.float32)
    assert signature_from_mlir(kernels_text, "fma4") == [
        MemRef(f32, (None,)),
        MemRef(f32, (None,)),
        MemRef(f32, (None,)),
        INDEX,
    ]
    assert signature_from_mlir(kernels_text, "dot4")[2] == MemRef(f32, (4,))
    assert signature_from_mlir(kernels_text, "axpk2d")[2:] == [Scalar(np.float32), Scalar(np.int32)]
    with pytest.raises(KeyError):
        signature_from_mlir(kernels_text, "missing")


def test_functions_listed(kernels_module):
    assert {"fma4", "fma4_plain", "dot4", "axpk2d"} <= set(kernels_module.functions())


@pytest.mark.parametrize("name", ["fma4", "fma4_plain"])  # ciface and expanded ABI
def test_fma4_matches_numpy(kernels_module, name):
    a, b, c = rand(64), rand(64), rand(64)
    (out,) = kernels_module.call(name, [a, b, c, 64], outputs=[2])
    np.testing.assert_allclose(out, a * b + c, rtol=1e-6, atol=1e-6)
    assert out.dtype == np.float32 and out.shape == (64,)
    assert not np.shares_memory(out, c)


def test_call_many_in_one_qemu_run(kernels_module):
    sizes = [4, 16, 100, 1024]
    batch, expected = [], []
    for n in sizes:
        a, b, c = rand(n), rand(n), rand(n)
        batch.append(Call("fma4", [a, b, c, n - n % 4], [2]))
        want = c.copy()
        m = n - n % 4
        want[:m] += a[:m] * b[:m]
        expected.append(want)
    x = rand(3, 5)
    batch.append(("axpk2d", [x, np.zeros_like(x), np.float32(2.5), np.int32(-3)], [1, 0]))
    results = kernels_module.call_many(batch)
    assert len(results) == len(batch)
    for (out,), want in zip(results[:-1], expected):
        np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)
    y, x_back = results[-1]  # outputs come back in the order they were asked for
    np.testing.assert_allclose(y, 2.5 * x - 3, rtol=1e-6)
    np.testing.assert_array_equal(x_back, x)


def test_dot4_four_accumulators(kernels_module):
    n = 256
    a, b = rand(n), rand(n)
    (out,) = kernels_module.call("dot4", [a, b, np.zeros(4, np.float32), n], [2])
    np.testing.assert_allclose(out, (a * b).reshape(-1, 4).sum(axis=0), rtol=1e-4, atol=1e-4)


def test_rank0_memref_and_f64_scalar(kernels_module):
    (out,) = kernels_module.call("store0", [np.zeros((), np.float32), np.float64(1.25)], [0])
    assert out.shape == () and out == np.float32(1.25)


def test_bad_dtype(kernels_module):
    a = np.zeros(8, np.float64)
    with pytest.raises(ArgumentError, match="argument 0: expected dtype float32, got float64"):
        kernels_module.call("fma4", [a, a, a, 8], [2])


def test_not_contiguous(kernels_module):
    a = rand(16)[::2]
    with pytest.raises(ArgumentError, match="not C-contiguous.*ascontiguousarray"):
        kernels_module.call("fma4", [a, a, a, 8], [2])


def test_argument_count_and_kinds(kernels_module):
    a = rand(8)
    with pytest.raises(ArgumentError, match="expected 4 arguments"):
        kernels_module.call("fma4", [a, a, a], [2])
    with pytest.raises(
        ArgumentError, match=r"argument 3: expected index/i64, got an array memref<8xf32>"
    ):
        kernels_module.call("fma4", [a, a, a, a], [2])
    with pytest.raises(ArgumentError, match="expected memref<4xf32>, got shape"):
        kernels_module.call("dot4", [a, a, np.zeros(8, np.float32), 8], [2])
    with pytest.raises(ArgumentError, match="does not fit in int32"):
        kernels_module.call("axpk2d", [rand(2, 2), rand(2, 2), 1.0, 2**40], [1])


def test_outputs_checked(kernels_module):
    a = rand(8)
    with pytest.raises(ArgumentError, match="output index 7 out of range"):
        kernels_module.call("fma4", [a, a, a, 8], [7])
    with pytest.raises(ArgumentError, match="output 3 is not a memref"):
        kernels_module.call("fma4", [a, a, a, 8], [3])


def test_unknown_function(kernels_module):
    with pytest.raises(ArgumentError, match="exports no function 'nope'.*fma4"):
        kernels_module.call("nope", [], [])


def test_undeclared_function_infers_signature(kernels_artifacts, tmp_path):
    module = Aarch64Module(kernels_artifacts.so_path, workdir=tmp_path)
    a = rand(8)
    with pytest.raises(ArgumentError, match="Python float is ambiguous"):
        module.call("fma4", [a, a, a, 8.0], [2])
    module.call("fma4", [a, a, a, 8], [2])
    with pytest.raises(ArgumentError, match="expected dtype float32, got int32"):
        module.call("fma4", [a, a, np.zeros(8, np.int32), 8], [2])


def test_out_of_bounds_write_detected(kernels_module):
    p = np.zeros(8, np.float32)
    (ok,) = kernels_module.call("write_at", [p, 7], [0])
    assert ok[7] == 1.0
    with pytest.raises(Aarch64RunError, match="call 0 arg 0: memory after the buffer"):
        kernels_module.call("write_at", [p, 8], [0])


def test_crash_raises_with_stderr(kernels_module):
    p = np.zeros(8, np.float32)
    batch = [("write_at", [p, 0], [0]), ("write_at", [p, 2**40], [0])]
    with pytest.raises(Aarch64RunError, match=r"SIGSEGV\) in call 1 \(write_at\)") as info:
        kernels_module.call_many(batch)
    assert "Segmentation fault" in info.value.stderr
    assert info.value.returncode != 0
    assert not list(kernels_module.workdir.glob("**/*core*"))


def test_missing_qemu(kernels_module, monkeypatch, tmp_path):
    monkeypatch.setenv(tool_env_var("qemu-aarch64"), str(tmp_path / "bogus-qemu"))
    a = rand(8)
    with pytest.raises(ToolNotFoundError, match="qemu-aarch64 not found"):
        kernels_module.call("fma4", [a, a, a, 8], [2])
