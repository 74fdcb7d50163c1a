"""Tuning for the GPU: the workgroup-tiling space, a real search on the Vulkan device,
and compile(target="vulkan-adreno") using what it stored."""

import numpy as np
import pattern_mlir
import pytest
import torch
from pattern_mlir import tuning_cli
from pattern_mlir.codegen.gpu_conv_plan import MAX_INVOCATIONS, MAX_SHARED_BYTES
from pattern_mlir.runtime.vulkan import VulkanUnavailableError, vulkan_device_name
from pattern_mlir.tuning import TuningDB, layer_from_arrays
from pattern_mlir.tuning.gpu_space import GpuScheduleSpace
from tuning_testlib import module_text as _module_text


@pytest.fixture(scope="module")
def device_name():
    try:
        return vulkan_device_name()
    except VulkanUnavailableError as error:
        pytest.skip(f"VulkanUnavailableError: {error}")


def _gpu_layer(small_arrays, cpu="some gpu"):
    weights, library, assignment = small_arrays
    return layer_from_arrays(
        weights, library, assignment, 12, 20, 1, 1, target="vulkan-adreno", cpu=cpu
    )


def test_space_points_are_valid_tilings(small_arrays):
    space = GpuScheduleSpace.of_layer(_gpu_layer(small_arrays))
    default = space.default()
    # The plan heuristic's tiling: 5 x 12 invocations of 4 columns cover the 20 x 12 output.
    assert (default.tile_cols, default.tile_rows, default.vector_width) == (20, 12, 4)
    points = space.all_points()
    assert default in points and len(points) > 50
    for s in points:
        assert space.canonical(s) == s and s.vector_width == 4 and s.prefetch == 0
        invocations = (s.tile_cols // 4) * s.tile_rows
        assert invocations <= MAX_INVOCATIONS
        if s.tile_channels:
            tile = (s.tile_rows + 2) * (s.tile_cols + 2)
            assert 4 * s.tile_channels * tile <= MAX_SHARED_BYTES
    assert {s.tile_channels for s in points} >= {0, 16}  # direct and staged both searched
    assert space.neighbours(default)


def test_tune_cli_for_vulkan_then_compile_uses_it(tmp_path, small_arrays, device_name):
    """`tune --target vulkan-adreno` measures kernels on the device and stores tilings keyed
    by its name; compile() for the GPU then applies them (tuned stage IR, workgroup size)."""
    weights, _, _ = small_arrays
    model = tmp_path / "model.mlir"
    model.write_text(_module_text(weights))
    db_path = tmp_path / "gpu.sqlite"
    argv = [
        str(model),
        "--db",
        str(db_path),
        "--budget",
        "20s",
        "--no-progress",
        "--target",
        "vulkan-adreno",
    ]
    assert tuning_cli.main(argv) == 0
    with TuningDB(db_path) as db:
        (result,) = db.results()
        measured = db.measurements(result.signature)
    sig = result.signature
    assert (sig.target, sig.cpu, result.clock) == ("vulkan-adreno", device_name, "gpu")
    assert len([ms for ms in measured.values() if ms is not None]) >= 3
    assert result.ms > 0 and result.schedule.vector_width == 4

    x = np.random.default_rng(3).standard_normal((1, 16, 12, 20)).astype(np.float32)
    options = pattern_mlir.CompileOptions(tuning_db=str(db_path))
    exe = pattern_mlir.compile_str(_module_text(weights), "vulkan-adreno", options)
    s = result.schedule
    assert f"tile_rows = {s.tile_rows}, tile_cols = {s.tile_cols}" in exe.ir("tuned")
    (kernel,) = [k for k in exe.program.kernels if k.kind == "pattern"]
    assert kernel.workgroup_size[:2] == (s.tile_cols // 4, min(s.tile_rows, 12))
    ref = torch.relu(
        torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(weights), padding=1)
    )
    np.testing.assert_allclose(np.asarray(exe(x)), ref.numpy(), rtol=1e-4, atol=1e-4)


def test_threads_only_for_the_host(tmp_path, capsys):
    argv = ["x.mlir", "--db", str(tmp_path / "d"), "--target", "vulkan-adreno", "--threads", "2"]
    assert tuning_cli.main(argv) == 2
    assert "--threads must be" in capsys.readouterr().err


def test_a_tuning_db_for_a_device_that_cannot_open_is_a_compile_error(
    tmp_path, small_arrays, monkeypatch
):
    """GPU entries are keyed by the device: the driver names it before the stages run, and a
    device it cannot open is one CompileError naming the stage, not a traceback."""
    weights = small_arrays[0]
    db_path = tmp_path / "gpu.sqlite"
    TuningDB(db_path).close()
    monkeypatch.setenv("PATTERN_MLIR_VULKAN_DEVICE", "no such gpu")
    options = pattern_mlir.CompileOptions(tuning_db=str(db_path))
    with pytest.raises(pattern_mlir.CompileError, match="keyed by the Vulkan device") as info:
        pattern_mlir.compile_str(_module_text(weights), "vulkan-adreno", options)
    assert info.value.stage == "tuned"
