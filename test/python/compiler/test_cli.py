"""`pattern-mlir` subcommands, run as a user runs them: the console script in a subprocess."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

CLI = str(Path(sys.executable).parent / "pattern-mlir")


def _run(*args, check=True):
    result = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_help_explains_every_subcommand():
    text = _run("--help").stdout
    for command in ("compile", "run", "bench", "prune", "tune", "models"):
        assert command in text
        assert "usage: pattern-mlir " + command in _run(command, "--help").stdout


def test_models_lists_the_zoo():
    text = _run("models").stdout
    for name in (
        "vgg16",
        "resnet50",
        "mobilenet-v2",
        "style-transfer",
        "colorization",
        "super-resolution",
        "fashion-cnn",
    ):
        assert name in text


def test_compile_save_then_run_matches_torch(tmp_path):
    from pattern_mlir import models, prune

    out = tmp_path / "exe"
    result = _run("compile", "fashion-cnn", "--threads", "1", "-o", out, "--print-ir", "pattern")
    assert "pattern.conv2d" in result.stdout
    assert "compiled in" in result.stderr and "stages, s:" in result.stderr

    # The same model the CLI built: the zoo's seed-0 weights, projected at its defaults.
    model, x = models.build("fashion-cnn")
    prune.project(model, num_patterns=8, connectivity=3.6)
    np.save(tmp_path / "x.npy", x.numpy())
    _run("run", out, "--input", tmp_path / "x.npy", "-o", tmp_path / "y.npy")
    with torch.no_grad():
        expected = model(x).numpy()
    got = np.load(tmp_path / "y.npy")
    assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max()


def test_bench_reports_both_latencies():
    result = _run("bench", "fashion-cnn", "--threads", "1", "--runs", "3")
    text = result.stdout
    assert "pattern-mlir" in text and "torch" in text
    error = float(
        re.search(r"error (\S+) of how much the output changes between two inputs", text).group(1)
    )
    assert 0 <= error < 1e-3 and "says little" not in result.stderr


def test_bench_error_is_relative_to_how_the_output_depends_on_the_input():
    """A result that ignores its input fails the check even where the output is nearly constant."""
    from pattern_mlir.cli import output_error

    a, b = torch.full((1, 4), 10.0), torch.full((1, 4), 10.0)
    b[0, 0] += 1e-3  # torch's output hardly depends on the input

    def constant(x):  # an "executable" that ignores its input
        return a

    error, spread = output_error(constant, (0, 1), (a, b))
    assert error >= 1.0 and spread < 1e-3
    assert output_error(lambda x: (a, b)[x], (0, 1), (a, b))[0] == 0.0


def test_prune_saves_spec_and_weights(tmp_path):
    from pattern_mlir import prune

    _run("prune", "fashion-cnn", "--patterns", "4", "--connectivity", "2", "-o", tmp_path / "p")
    _, spec = prune.load(tmp_path / "p")
    assert spec.layers and all(layer.library.shape[0] == 4 for layer in spec.layers.values())


@pytest.mark.parametrize(
    "args, message",
    [
        (("compile", "no-such-model"), "unknown model 'no-such-model'"),
        (("prune", "x.mlir", "-o", "out"), "needs a zoo model"),
        (("bench", "x.mlir"), "needs a zoo model"),
        (("run", "/nonexistent/exe"), "error"),
    ],
)
def test_errors_are_one_readable_line(args, message):
    result = _run(*args, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
