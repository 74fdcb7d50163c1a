"""Tool lookup: wheel tools are found without PATH, missing tools say how to install them."""

from __future__ import annotations

import pytest
from pattern_mlir.runtime.toolchain import (
    ToolFailedError,
    ToolNotFoundError,
    find_tool,
    run_tool,
    tool_env_var,
)


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch):
    """The tests below check the search itself: ignore overrides set by the caller."""
    for tool in ("mlir-opt", "mlir-translate", "llc", "opt", "llvm-mca", "FileCheck"):
        monkeypatch.delenv(tool_env_var(tool), raising=False)
    for tool in ("qemu-aarch64", "aarch64-linux-gnu-gcc"):
        monkeypatch.delenv(tool_env_var(tool), raising=False)


def test_wheel_tools_found_without_path(monkeypatch):
    monkeypatch.setenv("PATH", "")
    for tool in ("mlir-opt", "mlir-translate", "llc", "opt", "llvm-mca", "FileCheck"):
        path = find_tool(tool)
        assert path.is_file() and path.name == tool


def test_missing_system_tool_names_the_package(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(
        ToolNotFoundError, match=r"qemu-aarch64 not found: apt-get install qemu-user"
    ):
        find_tool("qemu-aarch64")
    with pytest.raises(ToolNotFoundError, match="apt-get install gcc-aarch64-linux-gnu"):
        find_tool("aarch64-linux-gnu-gcc")


def test_bogus_override_is_reported(monkeypatch, tmp_path):
    var = tool_env_var("llc")
    assert var == "PATTERN_MLIR_TOOL_LLC"
    monkeypatch.setenv(var, str(tmp_path / "no-such-llc"))
    with pytest.raises(ToolNotFoundError, match="PATTERN_MLIR_TOOL_LLC=.*not an executable"):
        find_tool("llc")


def test_override_is_used(monkeypatch):
    real = find_tool("llc")
    monkeypatch.setenv(tool_env_var("mlir-opt"), str(real))
    assert find_tool("mlir-opt") == real


def test_failure_carries_command_and_stderr():
    with pytest.raises(ToolFailedError) as info:
        run_tool("llc", ["-mtriple=aarch64-linux-gnu", "-"], input="this is not IR\n")
    err = info.value
    assert err.returncode != 0
    assert "llc failed" in str(err) and "error" in err.stderr
    assert err.cmd[0].endswith("llc")
