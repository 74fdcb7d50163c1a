"""pattern_mlir.compile / compile_str: models end to end, errors, save and load."""

import ctypes
import gc
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pattern_mlir
import pytest
import torch
from conv_cases import ConvCase, conv_module_text, random_library, relative_error
from torch import nn


class SmallNet(nn.Module):
    """Pattern convs beside a dense first conv, BatchNorm, pooling and a linear head."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.conv3 = nn.Conv2d(16, 16, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.conv2(x))
        x = self.pool(torch.relu(self.conv3(x)))
        return self.fc(torch.flatten(x, 1))


def pattern_projected(model: nn.Module, skip_first: bool = True) -> nn.Module:
    """Projects every 3x3 conv but the first onto a 4-pattern library, 1/2 kept."""
    rng = np.random.default_rng(0)
    library = torch.from_numpy(random_library(4, rng))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        for conv in convs[1:] if skip_first else convs:
            o, i = conv.weight.shape[:2]
            ids = torch.from_numpy(rng.integers(0, 4, (o, i)))
            keep = torch.from_numpy(rng.random((o, i)) < 0.5)
            conv.weight.mul_(library[ids] & keep[..., None, None])
    return model


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    model = pattern_projected(SmallNet()).eval()
    with torch.no_grad():
        model.bn1.running_mean.uniform_(-1, 1)
        model.bn1.running_var.uniform_(0.5, 2.0)
    return model, torch.randn(1, 3, 16, 16)


@pytest.fixture(scope="module")
def host_exe(net):
    model, x = net
    return pattern_mlir.compile(model, x)


def test_model_on_host_matches_torch(net, host_exe):
    model, x = net
    assert relative_error(host_exe(x), model(x).detach()) <= 1e-4
    # conv2 and conv3 follow the library; conv1 is dense and stays linalg.
    assert host_exe.ir("pattern").count("pattern.conv2d ") == 2
    assert "linalg.conv_2d_nchw_fchw" in host_exe.ir("pattern")
    assert "pattern.packed_conv2d" in host_exe.ir("packed")
    assert "vector.fma" in host_exe.ir("vector")
    assert "llvm.func @forward" in host_exe.ir("llvm")


def test_numpy_input_and_torch_output(net, host_exe):
    model, x = net
    out = host_exe(x.numpy())
    assert isinstance(out, torch.Tensor) and out.shape == (1, 10)


def test_model_on_arm64_matches_torch(net):
    model, x = net
    exe = pattern_mlir.compile(
        model, x, target="arm64-neon", options=pattern_mlir.CompileOptions(num_threads=2)
    )
    assert relative_error(exe(x), model(x).detach()) <= 1e-4
    assert "fmla\tv" in exe.ir("asm") and ".4s" in exe.ir("asm")
    # Filter groups run on the pthread implementation of MLIR's async runtime.
    assert "scf.parallel" in exe.ir("vector")
    assert "@mlirAsyncRuntimeExecute(" in exe.ir("llvm-ir")
    # Constants of 4 KiB and more live in the library's weight blob, not in the IR.
    assert "@__constant_3072xf32 = external constant [3072 x float], align 64" in exe.ir("llvm-ir")
    # The build directory (library, objects, qemu drivers) is the executable's and goes with it.
    build_dir = exe.library.parent
    assert build_dir.name.startswith("pattern-mlir-arm64-") and build_dir.is_dir()
    del exe
    gc.collect()
    assert not build_dir.exists()


def test_failed_arm64_build_leaves_no_directory(monkeypatch):
    import pattern_mlir.backend.library_build as library_build

    made = []
    mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args, **kwargs):
        made.append(Path(mkdtemp(*args, **kwargs)))
        return str(made[-1])

    def fail(*args, **kwargs):
        raise RuntimeError("llc failed")

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    monkeypatch.setattr(library_build, "build_model_library", fail)
    with pytest.raises(RuntimeError, match="llc failed"):
        pattern_mlir.compile_str(
            "func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> { return %x : tensor<4xf32> }",
            target="arm64-neon",
        )
    build_dirs = [d for d in made if d.name.startswith("pattern-mlir-arm64-")]
    assert len(build_dirs) == 1 and not build_dirs[0].exists()


@pytest.mark.parametrize("threads", [1, 3])
def test_arm64_thread_counts_match_torch(net, threads):
    model, x = net
    exe = pattern_mlir.compile(
        model, x, target="arm64-neon", options=pattern_mlir.CompileOptions(num_threads=threads)
    )
    assert relative_error(exe(x), model(x).detach()) <= 1e-4
    assert ("mlirAsyncRuntime" in exe.ir("llvm-ir")) == (threads > 1)


def test_batch_two_falls_back_to_dense_convs(net):
    model, _ = net
    x = torch.randn(2, 3, 16, 16)
    exe = pattern_mlir.compile(model, x)
    assert relative_error(exe(x), model(x).detach()) <= 1e-4
    pattern_ir = exe.ir("pattern")
    assert "pattern.conv2d " not in pattern_ir
    assert pattern_ir.count('pattern.dense = "batch 2: pattern kernels take batch 1"') == 3


def test_dense_option_compiles_without_pattern_ops(net):
    model, x = net
    exe = pattern_mlir.compile(model, x, options=pattern_mlir.CompileOptions(patterns=False))
    assert "pattern" not in exe.stage_names
    assert relative_error(exe(x), model(x).detach()) <= 1e-4


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (
            torch.randn(1, 3, 16, 15),
            ValueError,
            r"input 0 has shape \(1, 3, 16, 15\), expected \(1, 3, 16, 16\)",
        ),
        (
            torch.randn(1, 3, 16, 16, dtype=torch.float64),
            TypeError,
            "dtype float64, expected float32",
        ),
        (np.zeros((1, 3, 16, 32), np.float32)[..., ::2], ValueError, "not C-contiguous"),
        (torch.zeros(1, 3, 16, 32)[..., ::2], ValueError, "not C-contiguous"),
        ("text", TypeError, "numpy array or torch tensor"),
    ],
)
def test_wrong_inputs_raise(host_exe, bad, error, message):
    with pytest.raises(error, match=message):
        host_exe(bad)


def test_tensor_calls_match_numpy_calls(tmp_path, host_exe, net):
    """CPU tensors run in place (the fast path), numpy arrays through `run`: same results,
    each call a fresh output, a tensor that requires grad read like any other; the same for
    a saved library."""
    model, x = net
    want = host_exe.run(x.numpy())[0]
    loaded = pattern_mlir.load(host_exe.save(tmp_path / "saved"))
    for exe in (host_exe, loaded):
        first, second = exe(x), exe(x.clone().requires_grad_(True))
        assert isinstance(first, torch.Tensor) and not second.requires_grad
        assert first.data_ptr() != second.data_ptr()
        np.testing.assert_array_equal(first.numpy(), want)
        np.testing.assert_array_equal(second.numpy(), want)
        np.testing.assert_array_equal(exe(x.numpy()).numpy(), want)


def test_wrong_input_count_raises(host_exe, net):
    with pytest.raises(TypeError, match="expected 1 input"):
        host_exe(net[1], net[1])


def test_unknown_target_lists_known_ones(net):
    with pytest.raises(
        ValueError,
        match="unknown target 'gpu'; known targets: host, x86-64-v3, x86-64-v4, arm64-neon, vulkan-adreno",
    ):
        pattern_mlir.compile(*net, target="gpu")


def test_save_and_load_round_trip(tmp_path, net, host_exe):
    from pattern_mlir.runtime.artifact import FORMAT_VERSION
    from pattern_mlir.runtime.executable import HostLibraryExecutable

    model, x = net
    directory = host_exe.save(tmp_path / "exe")
    # The save holds object code: the loaded model calls libmodel.so, nothing is JIT-compiled.
    assert (directory / "libmodel.so").stat().st_size > 0
    loaded = pattern_mlir.load(directory)
    assert isinstance(loaded, HostLibraryExecutable) and loaded.threads == host_exe.threads
    np.testing.assert_allclose(loaded(x).numpy(), host_exe(x).numpy(), rtol=1e-5, atol=1e-6)
    assert relative_error(loaded(x), model(x).detach()) <= 1e-4
    assert loaded.ir("vector") == host_exe.ir("vector")
    # Its filter groups really ran as separate tasks on the async runtime's workers.
    assert loaded.threads == 2
    assert ctypes.c_int64.in_dll(loaded.cdll, "pattern_mlir_async_tasks").value > 0
    # A loaded executable saves again.
    again = pattern_mlir.load(loaded.save(tmp_path / "again"))
    np.testing.assert_array_equal(again(x).numpy(), loaded(x).numpy())
    manifest = tmp_path / "exe" / "manifest.json"
    manifest.write_text(manifest.read_text().replace(f'"format": {FORMAT_VERSION}', '"format": 99'))
    with pytest.raises(
        pattern_mlir.ArtifactError, match="format 99; this pattern-mlir reads format"
    ):
        pattern_mlir.load(tmp_path / "exe")


def test_jit_module_and_its_constants_rebuild_the_executable(net, host_exe):
    """The JIT runs a module without its large constants; module + constants are the whole model."""
    from mlir import ir
    from pattern_mlir.compiler.executable import HostExecutable

    model, x = net
    constants = host_exe.constants
    assert constants and all(c.data.nbytes >= 4096 for c in constants)
    with host_exe.module.context:
        text = str(host_exe.module)
    assert all(f"llvm.mlir.global external constant @{c.symbol}()" in text for c in constants)
    with ir.Context():
        rebuilt = HostExecutable(
            host_exe.inputs,
            host_exe.outputs,
            {},
            module=ir.Module.parse(text),
            threads=host_exe.threads,
            constants=constants,
        )
        np.testing.assert_array_equal(rebuilt(x).numpy(), host_exe(x).numpy())
    assert relative_error(rebuilt(x), model(x).detach()) <= 1e-4


def test_model_torch_export_cannot_capture_is_an_import_error():
    """The import child, started before the export, is told to exit when the export fails."""

    class Branchy(nn.Module):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x

    with pytest.raises(
        pattern_mlir.CompileError, match="stage 'import'.*torch.export could not capture"
    ):
        pattern_mlir.compile(Branchy(), torch.rand(1, 3, 4, 4))


def test_malformed_mlir_is_a_compile_error():
    with pytest.raises(pattern_mlir.CompileError, match="stage 'parse' failed"):
        pattern_mlir.compile_str("func.func @forward(")


def test_dynamic_shape_is_rejected_naming_it():
    text = (
        "func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x4xf32> { return %x : tensor<?x4xf32> }"
    )
    with pytest.raises(
        pattern_mlir.CompileError, match=r"input 0 of @forward has type tensor<\?x4xf32>"
    ):
        pattern_mlir.compile_str(text)


def test_failing_stage_saves_input_and_prints_reproducer(tmp_path):
    text, _, _ = conv_module_text(ConvCase(2, 3, 8, 8, 1, 1, 1, 4, 2.0))
    # Asymmetric padding is valid IR that the CPU lowering rejects.
    text = text.replace("padding [1, 1, 1, 1]", "padding [1, 1, 0, 1]").replace(
        "tensor<1x3x8x8xf32>", "tensor<1x3x7x8xf32>"
    )
    options = pattern_mlir.CompileOptions(save_temps=str(tmp_path))
    with pytest.raises(pattern_mlir.CompileError) as info:
        pattern_mlir.compile_str(text, options=options)
    error = info.value
    assert error.stage == "vector" and "asymmetric padding [1, 1, 0, 1]" in str(error)
    assert Path(error.input_path).exists()
    command = error.command.replace(
        "pattern-opt", str(Path(sys.executable).parent / "pattern-opt"), 1
    )
    replay = subprocess.run(command, shell=True, capture_output=True, text=True)
    assert replay.returncode != 0 and "asymmetric padding" in replay.stderr


def test_options_are_validated():
    with pytest.raises(ValueError, match="num_threads must be >= 0"):
        pattern_mlir.CompileOptions(num_threads=-1)
    with pytest.raises(AttributeError):
        pattern_mlir.CompileOptions().num_threads = 2  # frozen


def test_model_on_vulkan_matches_torch(net):
    """The same model through the GPU path (SPIR-V on lavapipe here, any Vulkan GPU elsewhere)."""
    from pattern_mlir.runtime.vulkan import VulkanUnavailableError

    model, x = net
    try:
        exe = pattern_mlir.compile(model, x, target="vulkan-adreno")
    except VulkanUnavailableError as error:
        pytest.skip(f"no Vulkan driver: {error}")
    assert relative_error(exe(x), model(x).detach()) <= 1e-3
    assert exe.ir("packed").count("pattern.packed_conv2d ") == 2
    assert len(exe.program.kernels) > 0


def test_small_model_on_vulkan_matches_torch(tmp_path):
    """A model whose final bytecode is a small file: read into an unaligned heap buffer, it
    must hold no `dense_resource` blob (those need 64-byte alignment), so the GPU stages
    inline the weights like the CPU ones."""
    from pattern_mlir.runtime.vulkan import VulkanUnavailableError

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()).eval()
    x = torch.randn(1, 8, 10, 10)
    try:
        exe = pattern_mlir.compile(model, x, target="vulkan-adreno")
    except VulkanUnavailableError as error:
        pytest.skip(f"no Vulkan driver: {error}")
    assert relative_error(exe(x), model(x).detach()) <= 1e-3
    assert exe.stage_names[-1] == "validated"
    # Not savable: refused before anything is written.
    with pytest.raises(ValueError, match="saving vulkan-adreno executables is not supported"):
        exe.save(tmp_path / "gpu")
    assert not (tmp_path / "gpu").exists()


def test_compile_uses_tuning_database_entry(tmp_path):
    """A schedule stored for a layer shows up in the stage IR and still computes the same conv."""
    from pattern_mlir.tuning.layers import signature_of_op
    from pattern_mlir.tuning_db.database import TuningDB, TuningResult

    case = ConvCase(8, 16, 12, 12, 1, 1, 1, 4, 2.0, "relu")
    text, weight, bias = conv_module_text(case)
    db_path = tmp_path / "tuning.db"
    # Tune nothing: store the schedule directly under the layer's signature.
    from mlir import ir as mlir_ir
    from pattern_mlir.codegen.schedule import Schedule
    from pattern_mlir.tuning_db.signature import cpu_model

    with mlir_ir.Context():
        module = mlir_ir.Module.parse(text)
        conv = next(
            op
            for op in module.body.operations[0].regions[0].blocks[0].operations
            if op.operation.name == "pattern.conv2d"
        )
        signature = signature_of_op(conv.operation, target="host", cpu=cpu_model())
    schedule = Schedule(tile_rows=2, tile_cols=16, vector_width=8, prefetch=0)
    with TuningDB(db_path) as db:
        db.put(TuningResult(signature, schedule, ms=1.0, default_ms=2.0))
    exe = pattern_mlir.compile_str(
        text, options=pattern_mlir.CompileOptions(tuning_db=str(db_path))
    )
    assert "tile_rows = 2, tile_cols = 16" in exe.ir("tuned")
    x = np.random.default_rng(0).standard_normal((1, 8, 12, 12)).astype(np.float32)
    from conv_cases import torch_reference

    assert relative_error(exe(x), torch_reference(case, x, weight, bias)) <= 1e-4


def test_default_tuning_database_is_consulted_when_present(tmp_path, monkeypatch):
    monkeypatch.setenv("PATTERN_MLIR_TUNING_DB", str(tmp_path / "absent.sqlite"))
    assert pattern_mlir.CompileOptions().tuning_db_path is None
    (tmp_path / "present.sqlite").write_bytes(b"")
    monkeypatch.setenv("PATTERN_MLIR_TUNING_DB", str(tmp_path / "present.sqlite"))
    assert pattern_mlir.CompileOptions().tuning_db_path == str(tmp_path / "present.sqlite")
    assert pattern_mlir.CompileOptions(tuning_db="").tuning_db_path is None
