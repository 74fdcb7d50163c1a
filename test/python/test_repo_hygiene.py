"""The repository holds clean sources and reports, never build outputs or large binaries.

The same checks run on each commit's files through .pre-commit-config.yaml.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUFF_PATHS = ("python", "scripts", "test", "examples")
C_DIRS = ("lib/", "tools/", "dialect/", "python/", "examples/")
BUILD_OUTPUTS = (".whl", ".so", ".o", ".a", ".pyc", ".tar.gz", ".zip")


def _hook(name: str):
    """scripts/<name>.py, a pre-commit hook, as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _size_check():
    return _hook("check_large_files")


def _tracked_files() -> list[str]:
    try:
        return _size_check().tracked_files(ROOT)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")


def _tool(name: str) -> str | None:
    """`name` from the environment running the tests (the venv), else from PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def test_ruff_check_is_clean():
    ruff = _tool("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (requirements.txt pins it; `make` installs it)")
    done = subprocess.run(
        [ruff, "check", "--output-format", "concise", *RUFF_PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, (
        f"ruff check (rules in pyproject.toml):\n{done.stdout}{done.stderr}"
    )


def test_ruff_format_is_clean():
    ruff = _tool("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (requirements.txt pins it; `make` installs it)")
    done = subprocess.run(
        [ruff, "format", "--check", *RUFF_PATHS], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, (
        f"`ruff format` would change these files (run it):\n{done.stdout}{done.stderr}"
    )


def test_no_large_files_outside_docs_images():
    check = _size_check()
    large = check.too_large(_tracked_files(), ROOT)
    assert not large, f"files over {check.MAX_BYTES} bytes in git: {large}"


def test_no_build_outputs_in_git():
    built = [name for name in _tracked_files() if name.endswith(BUILD_OUTPUTS)]
    assert not built, f"build outputs in git: {built}"


def test_c_and_cxx_sources_are_clang_formatted():
    clang_format = shutil.which("clang-format")
    if clang_format is None:
        pytest.skip("clang-format is not installed (scripts/ensure_apt_packages.sh installs it)")
    sources = [
        name
        for name in _tracked_files()
        if name.startswith(C_DIRS) and name.endswith((".c", ".cpp", ".h"))
    ]
    assert sources, "no C or C++ source found"
    done = subprocess.run(
        [clang_format, "--dry-run", "--Werror", *sources], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, (
        f"not formatted as .clang-format says (fix with clang-format -i):\n{done.stderr[-4000:]}"
    )


def test_sources_cite_only_the_projects_own_docs():
    """Code and tests explain themselves through docs/ (design.md first); the design notes
    the project started from are not part of it, so a citation of them leads nowhere."""
    outside = ("DESIGN" + ".md", "BENCHMARKS" + ".md")  # split: this file must not match itself
    sources = [
        name
        for name in _tracked_files()
        if (
            name.startswith(
                ("python/", "scripts/", "test/", "examples/", "lib/", "tools/", "dialect/", ".ci/")
            )
            or "/" not in name  # README, Makefile, requirements files
        )
        and not name.endswith((".png", ".onnx"))
    ]
    citing = [
        name
        for name in sources
        if any(doc in (ROOT / name).read_text(errors="replace") for doc in outside)
    ]
    assert not citing, f"files citing {outside} (cite docs/ instead): {citing}"


def test_comments_state_no_benchmark_figures():
    """Comments say why; what was measured, with its figures, is in docs/design.md, section 10."""
    check = _hook("check_comment_figures")
    found = check.scan([name for name in _tracked_files() if check.checked(name)], ROOT)
    assert not found, (
        "benchmark figures in comments or docstrings (record them in docs/design.md, "
        "section 10, and keep the reason in the comment):\n" + "\n".join(found)
    )


def test_figure_check_tells_figures_from_constants():
    check = _hook("check_comment_figures")
    python = (
        '"""Docstring: the old order ran 1.3x slower."""\n'
        "ALIGN = 64  # 64-byte cache lines, 4 KiB pages\n"
        "x = 1  # took 109 s at -O3\n"
        'print("a string argument may say 12.5 ms")\n'
    )
    assert [line.split(": ")[0] for line in check.figures("a.py", python)] == ["a.py:1", "a.py:3"]
    c = "/* a 20-cycle latency;\n * 4.0 ms with one worker */\nint x; // 16 lanes\n"
    assert [line.split(": ")[0] for line in check.figures("a.c", c)] == ["a.c:2"]
