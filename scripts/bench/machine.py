"""What the report says about the machine and the software: lscpu, load, versions, commit.

Versions come from package metadata, so the orchestrating process never loads a runtime.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

__all__ = ["describe_machine", "git_commit"]

_LSCPU_KEYS = (
    "Model name",
    "CPU(s)",
    "Thread(s) per core",
    "Hypervisor vendor",
    "L1d cache",
    "L2 cache",
    "L3 cache",
)
_PACKAGES = (
    "torch",
    "onnxruntime",
    "onnx",
    "MNN",
    "iree-base-runtime",
    "xtc-mlir-python-bindings",
    "numpy",
)


def _lscpu() -> dict[str, str]:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    fields = {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in text.splitlines())}
    out = {k: fields[k] for k in _LSCPU_KEYS if k in fields}
    flags = fields.get("Flags", "").split()
    out["vector ISA"] = " ".join(f for f in ("avx2", "fma", "avx512f", "amx_tile") if f in flags)
    return out


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_commit() -> str:
    """The short commit of this checkout, which reports name; "unknown" where git cannot say."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def describe_machine() -> dict:
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "lscpu": _lscpu(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in _PACKAGES},
        "commit": git_commit(),
        "load_start": os.getloadavg(),
    }
