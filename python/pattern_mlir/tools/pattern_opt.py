"""The `pattern-opt` console script.

`pattern-opt` is an mlir-opt with the pattern dialect. Passes written in C++ run
in the native binary (installed as pattern_mlir/bin/pattern-opt). Passes
written in Python (the codegen passes, see `pattern_mlir.passes`) cannot be
loaded into that binary, so when a command line names one, this script runs the
whole pipeline in Python instead, in the same order and with the same pass
names, through the upstream PassManager.

Either way the input is first checked for the few constructs known to abort upstream
MLIR's parser or verifiers (`upstream_guard`), which are reported as errors instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pattern_mlir

from .upstream_guard import upstream_hazards


def native_binary() -> Path:
    """Path of the native pattern-opt installed with the package."""
    for root in pattern_mlir.__path__:
        candidate = Path(root) / "bin" / "pattern-opt"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "the native pattern-opt is not installed; rebuild with "
        "`pip install --no-build-isolation -e .`"
    )


# Flags with which the binary reads no input.
_NO_INPUT = ("help", "version", "show-dialects", "list-passes", "print-pipeline")


def _input_path(argv: list[str]) -> str:
    """The input file of an mlir-opt command line ("-": stdin)."""
    args = iter(argv)
    for arg in args:
        if arg == "-o":
            next(args, None)
        elif arg == "-" or not arg.startswith("-"):
            return arg
    return "-"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from pattern_mlir.passes.driver import names_python_pass, run_python_pipeline

    if any(names_python_pass(arg) for arg in argv):
        return run_python_pipeline(argv)
    binary = str(native_binary())
    if "--help" in argv or "-h" in argv:
        import subprocess

        from pattern_mlir.passes import all_passes

        subprocess.run([binary, *argv], check=False)
        print("\nPasses written in Python (pattern-mlir):")
        for python_pass in all_passes():
            names = python_pass.option_names()
            options = f" (options: {', '.join(names)})" if names else ""
            print(f"  --{python_pass.name:<32} - {python_pass.summary()}{options}")
        return 0
    # Inputs known to abort upstream MLIR are reported before the binary sees them.
    path = _input_path(argv)
    if any(arg.lstrip("-").startswith(_NO_INPUT) for arg in argv) or (
        path == "-" and sys.stdin.isatty()
    ):
        os.execv(binary, [binary, *argv])
    if path == "-":
        text = sys.stdin.buffer.read()
    else:
        try:
            text = Path(path).read_bytes()
        except OSError:
            text = b""  # the binary reports it
    hazards = upstream_hazards(text, path)
    if hazards:
        print("\n".join(hazards), file=sys.stderr)
        return 1
    if path == "-":
        import subprocess

        code = subprocess.run([binary, *argv], input=text, check=False).returncode
        return 128 - code if code < 0 else code  # a signal as the shell reports it
    os.execv(binary, [binary, *argv])
    return 0  # unreachable: execv replaces the process


if __name__ == "__main__":
    sys.exit(main())
