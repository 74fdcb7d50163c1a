"""The targets `compile()` knows, by name; ``host`` is detected from this machine's CPU.

``x86-64-v3`` (AVX2 + FMA, 16 ymm) and ``x86-64-v4`` (AVX-512, 32 zmm) are the x86-64 psABI
levels, so that either can be built, tested and timed on any host that runs it (an AVX-512
host runs both); where this CPU runs a level, its record is tuned for this CPU (LLVM
scheduling model, cache sizes, schedule rules), like ``-march=x86-64-v3 -mtune=native``.
``host`` is the highest level this CPU runs, so tuned. ``arm64-neon`` is a Cortex-A76 class phone core, ``vulkan-adreno`` the
Adreno 640 SPIR-V profile.
"""

from __future__ import annotations

import functools
import os
import platform
import re
from dataclasses import replace
from pathlib import Path

from .description import Target
from .host_cpu import cpu_family, cpu_vendor, cpuinfo_fields
from .schedule_rules import with_schedule_rules

__all__ = [
    "CPU_TARGETS",
    "TARGET_NAMES",
    "UnsupportedHostError",
    "host_isa_level",
    "host_target",
    "require_runnable",
    "resolve_target",
    "runs_on_host",
]

# The features repeat what the CPU names imply: a function's target-features replace those of
# the JIT's TargetMachine (this host's, AVX-512 included) only where the attribute is set.
X86_64_V3 = Target(
    "x86-64-v3",
    "cpu",
    "AVX2+FMA",
    triple="x86_64-unknown-linux-gnu",
    cpu="x86-64-v3",
    features=("+avx2", "+fma"),
    tune_cpu="x86-64-v3",
    vector_bits=256,
    vector_registers=16,
    fma_units=2,
    fma_latency=4,
    fma_memory_operand=True,
    l1d_bytes=32 * 1024,
    l2_bytes=512 * 1024,
    prefetch=2,
)
# x86-64-v4 is v3 plus AVX-512: twice the vector width and registers, the caches of an
# AVX-512 core; the FMA rate and prefetch are v3's.
X86_64_V4 = replace(
    X86_64_V3,
    name="x86-64-v4",
    isa="AVX-512",
    cpu="x86-64-v4",
    features=(*X86_64_V3.features, "+avx512f", "+avx512bw", "+avx512cd", "+avx512dq", "+avx512vl"),
    tune_cpu="x86-64-v4",
    vector_bits=512,
    vector_registers=32,
    l1d_bytes=48 * 1024,
    l2_bytes=1024 * 1024,
)
ARM64_NEON = Target(
    "arm64-neon",
    "cpu",
    "NEON",
    triple="aarch64-linux-gnu",
    cpu="cortex-a76",
    features=("+neon",),
    tune_cpu="cortex-a76",
    vector_bits=128,
    vector_registers=32,
    fma_units=2,
    fma_latency=4,
    l1d_bytes=64 * 1024,
    l2_bytes=256 * 1024,
    cc="aarch64-linux-gnu-gcc",
)
# The profile's name in backend/spirv_tools.SPIRV_PROFILES (its limits and capabilities).
VULKAN_ADRENO = Target(
    "vulkan-adreno", "gpu", "SPIR-V 1.3 / Vulkan 1.1", spirv_profile="adreno-640"
)

_FIXED = {t.name: t for t in (X86_64_V3, X86_64_V4, ARM64_NEON, VULKAN_ADRENO)}
TARGET_NAMES = ("host", "x86-64-v3", "x86-64-v4", "arm64-neon", "vulkan-adreno")
CPU_TARGETS = ("host", "x86-64-v3", "x86-64-v4", "arm64-neon")

# CPU flags (as /proc/cpuinfo names them) each x86-64 level needs beyond the one below.
_LEVEL_FLAGS = {
    "x86-64-v3": ("avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"),
    "x86-64-v4": ("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"),
}


HOST_LEVEL_ENV = "PATTERN_MLIR_HOST_LEVEL"


class UnsupportedHostError(RuntimeError):
    """This CPU has no vector ISA a CPU target generates code for."""


def _host_flags() -> set[str]:
    fields = cpuinfo_fields() or {}
    return set(fields.get("flags", "").split())


def host_isa_level(flags: set[str] | None = None) -> str | None:
    """The highest x86-64 level this CPU runs ("x86-64-v4", "x86-64-v3"), or None.

    $PATTERN_MLIR_HOST_LEVEL (a level name) caps it: an AVX-512 machine then compiles,
    tests and tunes `host` as an AVX2 one would (it never raises the level)."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    flags = _host_flags() if flags is None else flags
    cap = os.environ.get(HOST_LEVEL_ENV)
    if cap is not None and cap not in _LEVEL_FLAGS:
        raise ValueError(
            f"${HOST_LEVEL_ENV}={cap!r} is not an x86-64 level; use one of {', '.join(_LEVEL_FLAGS)}"
        )
    level = None
    for name, needed in _LEVEL_FLAGS.items():  # in ascending order
        if not all(flag in flags for flag in needed):
            break
        level = name
        if name == cap:
            break
    return level


def runs_on_host(target: Target) -> bool:
    """Whether code for `target` runs on this machine's CPU."""
    if target.name == "host":
        return True
    level = host_isa_level()
    if level is None or not target.triple.startswith("x86_64"):
        return False
    return list(_LEVEL_FLAGS).index(target.name) <= list(_LEVEL_FLAGS).index(level)


def require_runnable(target: Target) -> Target:
    """`target`, if this CPU runs its code; else a ValueError naming what this CPU runs."""
    if not runs_on_host(target):
        raise ValueError(
            f"code for target {target.name!r} ({target.isa}) does not run on this CPU, which runs "
            f"{resolve_target('host').isa}; compile for 'host' or 'x86-64-v3'"
        )
    return target


def _cache_bytes(level: int, kind: str) -> int | None:
    """This CPU's per-core cache of `level` and `kind` ("Data", "Unified"), from sysfs."""
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            if (
                int((index / "level").read_text()) != level
                or (index / "type").read_text().strip() != kind
            ):
                continue
            size = (index / "size").read_text().strip()
        except (OSError, ValueError):
            continue
        match = re.fullmatch(r"(\d+)([KM]?)", size)
        if match:
            return int(match.group(1)) * {"": 1, "K": 1024, "M": 1024 * 1024}[match.group(2)]
    return None


@functools.cache
def _llvm_host_cpu() -> str:
    """LLVM's name of this CPU (for the scheduling model), "" where llc does not say."""
    from ..runtime.toolchain import run_tool

    try:
        version = run_tool("llc", ["--version"]).stdout
    except Exception:  # noqa: BLE001 - no llc: tune for the generic level instead
        return ""
    match = re.search(r"Host CPU:\s*(\S+)", version)
    return match.group(1) if match and match.group(1) != "generic" else ""


def _tuned_for_host(level: Target, name: str) -> Target:
    """x86-64 level `level` as this machine builds it: tuned for its CPU (scheduling model,
    caches, the schedule rules tuning found for its vendor and family)."""
    tuned = replace(
        level,
        name=name,
        tune_cpu=_llvm_host_cpu() or level.tune_cpu,
        l1d_bytes=_cache_bytes(1, "Data") or level.l1d_bytes,
        l2_bytes=_cache_bytes(2, "Unified") or level.l2_bytes,
    )
    return with_schedule_rules(tuned, cpu_vendor(), cpu_family())


@functools.cache
def _level_here(name: str) -> Target:
    """A named x86-64 level this CPU runs, tuned for this CPU."""
    return _tuned_for_host(_FIXED[name], name)


@functools.cache
def host_target() -> Target:
    """This machine: the highest x86-64 level its CPU runs, tuned for its CPU, its caches."""
    level = host_isa_level()
    if level is None:
        flags = _host_flags()
        have = "avx2" if "avx2" in flags else "no avx2"
        raise UnsupportedHostError(
            f"target 'host' needs an x86-64 CPU with AVX2 and FMA (x86-64-v3) or AVX-512 "
            f"(x86-64-v4); this one is {platform.machine()} ({have}). Compile for 'arm64-neon' "
            "(a shared library) or 'vulkan-adreno' instead."
        )
    return _tuned_for_host(_FIXED[level], "host")


def resolve_target(name: str | Target) -> Target:
    """The record of target `name`; a clear error for a name that is none."""
    if isinstance(name, Target):
        return name
    if name == "host":
        return host_target()
    if name not in _FIXED:
        raise ValueError(f"unknown target {name!r}; known targets: {', '.join(TARGET_NAMES)}")
    if name in _LEVEL_FLAGS and runs_on_host(_FIXED[name]):
        return _level_here(name)
    return _FIXED[name]
