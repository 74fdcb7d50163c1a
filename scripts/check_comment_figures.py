#!/usr/bin/env python3
"""Refuses benchmark figures in the comments and docstrings of source files.

    scripts/check_comment_figures.py FILE...   # what pre-commit passes: the files being committed
    scripts/check_comment_figures.py           # every source file git tracks

Comments say why; what was measured, with its figures, is recorded in docs/ (design.md,
section 10) and in commit messages, where it can be dated and re-measured. A figure is a
measured time, rate or ratio: "12.5 ms", "3.1 GFLOP/s", "1.3x faster", "35 % slower",
"took 34 s". The patterns are conservative: constants the code uses (a 20-cycle latency,
64-byte alignment) do not match, and ALLOWED lists the few lines that match without being
figures. Exit status 1 and one line per figure found. test/python/test_repo_hygiene.py runs
the same check over the whole tree.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Where the check applies: the package, scripts and native sources. Tests and docs/ are
#: free to state figures.
SOURCE_DIRS = ("python/", "scripts/", "lib/", "tools/", "dialect/", "examples/")
C_SUFFIXES = (".c", ".cpp", ".h")

_NUMBER = r"\d+(?:\.\d+)?"
_RANGE = rf"{_NUMBER}(?:\s*(?:-|to|and)\s*{_NUMBER})?"
FIGURE = re.compile(
    "|".join(
        (
            # A time: "12.5 ms", "0.27-0.30 us".
            rf"\b{_RANGE}\s*(?:ms|us|µs|ns)\b",
            # A duration in seconds: "took 109 s", "1.3 s against 0.1 s" (a space before the
            # unit, so NEON's "4s" arrangement and "2s" in a formula do not match).
            rf"(?<![\w.]){_RANGE}\s+s\b(?![-'])",
            rf"\b(?:took|takes|ran for)\s+(?:about\s+)?{_RANGE}\s*min",
            # A rate: "3.1 GFLOP/s", "20 GB/s".
            rf"\b{_RANGE}\s*(?:[GMT]FLOP|[GMK]i?B)/s\b",
            # A ratio: "1.3x faster", "3-5x slower", "(1.019x)", "ranged over 3x".
            rf"\b{_RANGE}\s*[x×]\s+(?:faster|slower|as fast|the speed|the time)\b",
            r"\b\d+\.\d+(?:\s*-\s*\d+\.\d+)?[x×](?![\w.^])",
            rf"\bover\s+{_RANGE}[x×](?![\w.^])",
            # A change in per cent: "35 % slower", "10-16 % fewer cycles", "+10 %", "by 30 %".
            rf"\b{_RANGE}\s*(?:%|per ?cent)\s+(?:faster|slower|fewer|more|less|of the run)",
            rf"(?:(?<![\w.])[+−]|(?<=[\s(])-){_NUMBER}\s*%",
            rf"\b(?:by|about|worth|within|gained|gains?|saved|saves?|costs?|lost|loses?)\s+"
            rf"(?:about\s+)?{_RANGE}\s*%",
        )
    ),
    re.IGNORECASE,
)

#: (path, text on the line) pairs that match FIGURE without being a measurement: targets the
#: reports draw and a sampling period the code uses. This file's own examples are not checked.
ALLOWED = (
    ("scripts/bench/layer/report_png.py", "the target lines (2x for VGG, 1.5x for ResNet"),
    ("scripts/bench/model/report_png.py", "with the 20 s VGG-16"),
    ("scripts/compile_cost.py", "sampled every 20 ms by the caller"),
)
SELF = "scripts/check_comment_figures.py"


def _python_prose(text: str) -> list[tuple[int, str]]:
    """(line, text) of every comment and every docstring line (a string that is a statement
    of its own: module, class and function docstrings and attribute docs) of Python source."""
    prose: list[tuple[int, str]] = []
    starts_statement = True
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                prose.append((tok.start[0], tok.string))
            elif tok.type == tokenize.STRING and starts_statement:
                for offset, line in enumerate(tok.string.splitlines()):
                    prose.append((tok.start[0] + offset, line))
            if tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                starts_statement = True
            elif tok.type not in (tokenize.COMMENT, tokenize.NL):
                starts_statement = False
    except (tokenize.TokenError, SyntaxError):
        pass  # ruff reports broken files; the prose read so far is still checked
    return prose


def _c_prose(text: str) -> list[tuple[int, str]]:
    """(line, text) of every comment line of C or C++ source (string literals not excluded
    from the scan, so a `//` inside one counts as a comment: harmless for this check)."""
    prose: list[tuple[int, str]] = []
    in_block = False
    for number, line in enumerate(text.splitlines(), 1):
        if in_block:
            prose.append((number, line))
            in_block = "*/" not in line
            continue
        block, line_comment = line.find("/*"), line.find("//")
        if line_comment >= 0 and (block < 0 or line_comment < block):
            prose.append((number, line[line_comment:]))
        elif block >= 0:
            prose.append((number, line[block:]))
            in_block = "*/" not in line[block + 2 :]
    return prose


def figures(name: str, text: str) -> list[str]:
    """'name:line: text' for each comment or docstring line of `name` that states a figure."""
    if name.endswith(".py"):
        prose = _python_prose(text)
    elif name.endswith(C_SUFFIXES):
        prose = _c_prose(text)
    else:
        return []
    return [
        f"{name}:{number}: {line.strip()}"
        for number, line in prose
        if FIGURE.search(line) and not any(name == path and part in line for path, part in ALLOWED)
    ]


def checked(name: str) -> bool:
    return name.startswith(SOURCE_DIRS) and name.endswith((".py", *C_SUFFIXES)) and name != SELF


def tracked_sources(root: Path = ROOT) -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True)
    return [name for name in listed.stdout.decode().split("\0") if name and checked(name)]


def scan(names: list[str], root: Path = ROOT) -> list[str]:
    found = []
    for name in names:
        path = root / name
        if checked(name) and path.is_file():
            found += figures(name, path.read_text(errors="replace"))
    return found


def main(argv: list[str]) -> int:
    found = scan(argv or tracked_sources())
    for line in found:
        print(
            f"benchmark figure in a comment (record it in docs/design.md): {line}", file=sys.stderr
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
