#!/usr/bin/env python3
"""Refuses files over 1 MiB, except images under docs/: git holds sources and reports only.

    scripts/check_large_files.py FILE...   # what pre-commit passes: the files being committed
    scripts/check_large_files.py           # every file git tracks

Exit status 1 and one line per file when any is too large. test/python/test_repo_hygiene.py
runs the same check over the whole tree.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 1 << 20
DOC_IMAGES = (".png", ".jpg", ".svg")


def allowed(name: str) -> bool:
    return name.startswith("docs/") and name.endswith(DOC_IMAGES)


def too_large(names: list[str], root: Path = ROOT) -> list[str]:
    """'name (N bytes)' for each file in `names` (relative to `root`) over the limit."""
    found = []
    for name in names:
        path = root / name
        if path.is_file() and not allowed(name) and path.stat().st_size > MAX_BYTES:
            found.append(f"{name} ({path.stat().st_size} bytes)")
    return found


def tracked_files(root: Path = ROOT) -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True)
    return [name for name in listed.stdout.decode().split("\0") if name]


def main(argv: list[str]) -> int:
    found = too_large(argv or tracked_files())
    for line in found:
        print(f"over {MAX_BYTES} bytes (only docs/ images may be): {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
