"""Saved models: run with the runtime alone, and refused cleanly when anything was changed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pattern_mlir
import pytest
import torch
from aarch64_testlib import needs_cross
from pattern_mlir import ArtifactError, CompileOptions

# Run in a child whose imports of MLIR, torch-mlir and torch fail, as where only the runtime
# is installed. Prints the blocked packages that got imported anyway (none, or the test fails).
RUNTIME_ONLY = r"""
import importlib.abc, sys

BLOCKED = ("mlir", "torch", "torch_mlir")


class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None


sys.meta_path.insert(0, NotInstalled())
import numpy as np
import pattern_mlir

exe = pattern_mlir.load(sys.argv[1])
out = exe(np.load(sys.argv[2]))
assert isinstance(out, np.ndarray), type(out)
np.save(sys.argv[3], out)
print(sorted({m.split(".")[0] for m in sys.modules} & set(BLOCKED)))
"""


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8 * 6 * 6, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


@pytest.fixture(scope="module")
def model_and_input():
    torch.manual_seed(0)
    return Net().eval(), torch.randn(1, 3, 6, 6)


@pytest.fixture(scope="module")
def saved_host(model_and_input, tmp_path_factory):
    model, x = model_and_input
    exe = pattern_mlir.compile(model, (x,), options=CompileOptions(num_threads=1))
    return exe.save(tmp_path_factory.mktemp("saved") / "host")


def _run_without_compiler(directory, x, tmp_path):
    np.save(tmp_path / "x.npy", x.numpy())
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            RUNTIME_ONLY,
            str(directory),
            str(tmp_path / "x.npy"),
            str(tmp_path / "y.npy"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout
    return np.load(tmp_path / "y.npy")


def test_host_model_runs_with_the_runtime_alone(saved_host, model_and_input, tmp_path):
    model, x = model_and_input
    got = _run_without_compiler(saved_host, x, tmp_path)
    np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=1e-4, atol=1e-5)


@needs_cross
def test_arm64_model_runs_with_the_runtime_alone(model_and_input, tmp_path):
    model, x = model_and_input
    exe = pattern_mlir.compile(model, (x,), target="arm64-neon")
    saved = exe.save(tmp_path / "arm64")
    files = sorted(p.name for p in saved.iterdir())
    got = _run_without_compiler(saved, x, tmp_path)
    np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=1e-4, atol=1e-5)
    assert sorted(p.name for p in saved.iterdir()) == files  # loading wrote nothing there


@pytest.fixture
def copy(saved_host, tmp_path):
    return shutil.copytree(saved_host, tmp_path / "copy")


def _edit_manifest(directory, edit):
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))
    return path


def test_an_untouched_copy_loads(copy, model_and_input):
    model, x = model_and_input
    np.testing.assert_allclose(
        pattern_mlir.load(copy)(x).numpy(), model(x).detach().numpy(), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda m: m["inputs"][0]["shape"].__setitem__(2, 12),
            r"describes .*inputs \[1x3x12x6\].*was built for",
        ),
        (
            lambda m: m["outputs"][0]["shape"].__setitem__(1, 2),
            r"outputs \[1x2\].*was built for .*outputs \[1x5\]",
        ),
        (lambda m: m.__setitem__("outputs", []), "'outputs' is empty"),
        (
            lambda m: m.__setitem__("target", "arm64-neon"),
            "target arm64-neon .*was built for target host",
        ),
        (lambda m: m["inputs"][0].__setitem__("dtype", "float64"), "element type 'float64'"),
        (lambda m: m.__setitem__("format", 3), "format 3; this pattern-mlir reads format"),
        (lambda m: m.__setitem__("threads", "many"), "'threads' must be an integer"),
        (lambda m: m["files"].__setitem__("../x", {"bytes": 1, "sha256": "0"}), "not a plain name"),
    ],
)
def test_an_edited_manifest_is_refused(copy, edit, message):
    path = _edit_manifest(copy, edit)
    with pytest.raises(ArtifactError, match=message) as caught:
        pattern_mlir.load(copy)
    assert caught.value.path == path


def test_edited_weight_bytes_are_refused(copy, model_and_input):
    model, _ = model_and_input
    library = copy / "libmodel.so"
    data = bytearray(library.read_bytes())
    at = data.find(model.conv.bias.detach().numpy().tobytes())
    assert at > 0, "the conv's bias is not in the library as raw bytes"
    data[at + 8] ^= 0x40
    library.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="SHA-256 differs") as caught:
        pattern_mlir.load(copy)
    assert caught.value.path == library


def test_a_truncated_library_is_refused(copy):
    library = copy / "libmodel.so"
    library.write_bytes(library.read_bytes()[: library.stat().st_size // 2])
    with pytest.raises(ArtifactError, match="cut short"):
        pattern_mlir.load(copy)


def test_a_library_from_another_model_is_refused(copy, tmp_path):
    """Checksums updated to match: the signature the library carries still tells them apart."""
    other = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 5)).eval()
    saved = pattern_mlir.compile(other, (torch.randn(2, 3, 6, 6),)).save(tmp_path / "other")
    shutil.copy(saved / "libmodel.so", copy / "libmodel.so")
    _edit_manifest(
        copy,
        lambda m: m["files"].__setitem__(
            "libmodel.so", json.loads((saved / "manifest.json").read_text())["files"]["libmodel.so"]
        ),
    )
    with pytest.raises(ArtifactError, match=r"was built for .*inputs \[2x3x6x6\]"):
        pattern_mlir.load(copy)


@pytest.mark.parametrize(
    "damage", ["missing manifest", "bad json", "missing library", "missing stage"]
)
def test_a_damaged_directory_is_refused(copy, damage):
    if damage == "missing manifest":
        (copy / "manifest.json").unlink()
        match = "no manifest"
    elif damage == "bad json":
        (copy / "manifest.json").write_text('{"format": 4,')
        match = "not valid JSON"
    elif damage == "missing library":
        (copy / "libmodel.so").unlink()
        match = "libmodel.so: missing"
    else:
        next(copy.glob("*.mlir")).unlink()
        match = r"\.mlir: missing"
    with pytest.raises(ArtifactError, match=match):
        pattern_mlir.load(copy)


def test_the_library_names_its_signature(saved_host):
    """Tools outside pattern-mlir can read the signature from the library's dynamic symbols."""
    from pattern_mlir.runtime.call_signature import SIGNATURE_SYMBOL

    symbols = subprocess.run(
        ["nm", "-D", "--defined-only", str(saved_host / "libmodel.so")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert SIGNATURE_SYMBOL in symbols
