"""The documented C entry point of an arm64 build, called from examples/c under qemu."""

import subprocess
from pathlib import Path

import numpy as np
import pattern_mlir
import torch
from pattern_mlir.runtime.toolchain import aarch64_sysroot, find_tool
from test_compile_api import SmallNet, pattern_projected

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "c" / "run_classifier.c"


def test_c_example_runs_saved_arm64_model(tmp_path):
    torch.manual_seed(1)
    model = pattern_projected(SmallNet()).eval()
    x = torch.randn(1, 3, 16, 16)
    exe = pattern_mlir.compile(model, x, target="arm64-neon")
    directory = exe.save(tmp_path / "model")
    assert (directory / "libmodel.so").exists()

    binary = tmp_path / "run"
    subprocess.run(
        [
            str(find_tool("aarch64-linux-gnu-gcc")),
            "-O2",
            str(EXAMPLE),
            "-L",
            str(directory),
            "-lmodel",
            f"-Wl,-rpath,{directory}",
            "-o",
            str(binary),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    x.numpy().tofile(tmp_path / "in.f32")
    result = subprocess.run(
        [
            str(find_tool("qemu-aarch64")),
            "-L",
            str(aarch64_sysroot()),
            str(binary),
            "3",
            "16",
            "16",
            "10",
            str(tmp_path / "in.f32"),
            str(tmp_path / "out.f32"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    y = np.fromfile(tmp_path / "out.f32", np.float32).reshape(1, 10)
    expected = model(x).detach().numpy()
    assert np.abs(y - expected).max() <= 1e-4 * np.abs(expected).max()
    assert result.stdout.strip() == f"class {int(expected.argmax())}"
