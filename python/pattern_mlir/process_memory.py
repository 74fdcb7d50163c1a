"""Resident memory of a process, read from /proc: what the stage worker's memory limit and
the kept import process are judged by."""

from __future__ import annotations

__all__ = ["rss_bytes"]


def rss_bytes(pid: int) -> int:
    """Resident bytes of process `pid`; 0 once it is gone (or where /proc has no such file)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0
