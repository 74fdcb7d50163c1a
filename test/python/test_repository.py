"""The repository holds sources and reports, never build outputs or large binaries."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_BYTES = 1 << 20
BUILD_OUTPUTS = (".whl", ".so", ".o", ".a", ".pyc", ".tar.gz", ".zip")


def _tracked_files() -> list[str]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [name for name in listed.stdout.decode().split("\0") if name]


def test_no_large_files_outside_docs_images():
    large = [f"{name} ({(ROOT / name).stat().st_size} bytes)" for name in _tracked_files()
             if (ROOT / name).is_file() and (ROOT / name).stat().st_size > MAX_BYTES
             and not (name.startswith("docs/") and name.endswith(".png"))]
    assert not large, f"files over {MAX_BYTES} bytes in git: {large}"


def test_no_build_outputs_in_git():
    built = [name for name in _tracked_files() if name.endswith(BUILD_OUTPUTS)]
    assert not built, f"build outputs in git: {built}"
