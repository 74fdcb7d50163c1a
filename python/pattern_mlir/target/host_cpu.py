"""The machine ``target="host"`` compiles for, as far as schedules depend on it.

Measured schedules differ by CPU vendor more than by anything the heuristic can compute from a
layer's shape (docs/tuning.md): the same channel block that gains on the Intel Xeon hosts loses
on AMD Zen 4 and Zen 5 (measured: docs/design.md, section 10). The tuning database keys results
by the full CPU model (``tuning_db.signature.cpu_model``); the default heuristic only needs the
vendor and, for one rule, the family (AMD family 25 is Zen 3 and Zen 4, whose AVX-512 is
double-pumped).
"""

from __future__ import annotations

import functools

__all__ = ["AMD", "AMD_ZEN3_ZEN4", "INTEL", "cpu_family", "cpu_vendor", "cpuinfo_fields"]

AMD = "AuthenticAMD"
INTEL = "GenuineIntel"
AMD_ZEN3_ZEN4 = 25  # x86 family of AMD Zen 3 and Zen 4 (Zen 5: 26)


@functools.cache
def cpuinfo_fields(cpuinfo: str = "/proc/cpuinfo") -> dict[str, str] | None:
    """The first processor's ``key: value`` fields of ``cpuinfo``; None where it is unreadable."""
    fields: dict[str, str] = {}
    try:
        with open(cpuinfo) as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        return None
    return fields


def cpu_vendor() -> str:
    """The host's x86 vendor id (``AMD``, ``INTEL``), or "" where the CPU does not report one."""
    return (cpuinfo_fields() or {}).get("vendor_id", "")


def cpu_family() -> int:
    """The host's x86 family number, or 0 where the CPU does not report one."""
    family = (cpuinfo_fields() or {}).get("cpu family", "")
    return int(family) if family.isdigit() else 0
