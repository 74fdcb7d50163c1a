"""Runs `pattern-opt` command lines that name Python passes.

Supports what the tests and the compiler's repro commands use: an input file
(or `-`), `-o FILE`, `--split-input-file`, `--mlir-print-op-generic`, and pass
flags in order, `--name` or `--name="opt=value opt2=value"`. C++ passes in the
same command line run through the upstream PassManager in their position.

A pass reports what it cannot handle as `ir.MLIRError` or `ValueError` (a `PassError`
names the op and its location); both become an `error:` diagnostic and exit code 1. Any
other exception escaping a pass is a bug in that pass: as a last resort it is reported as
an `error: internal error in pass ...` diagnostic too, so a user never sees a traceback;
`PATTERN_MLIR_TRACEBACK=1` prints the traceback as well, for whoever fixes the pass.
"""

from __future__ import annotations

import os
import shlex
import sys
import traceback
from dataclasses import dataclass, field

from mlir import ir
from mlir.passmanager import PassManager

from ..tools.upstream_guard import upstream_hazards
from .registry import lookup

_SPLIT_MARKER = "// -----"


@dataclass
class _Invocation:
    input_path: str = "-"
    output_path: str = "-"
    split_input_file: bool = False
    print_generic: bool = False
    steps: list[tuple[str, str]] = field(default_factory=list)  # (pass name, options)


def _flag_name(arg: str) -> str:
    return arg.lstrip("-").split("=", 1)[0]


def names_python_pass(arg: str) -> bool:
    """Whether a command-line argument is a flag naming a Python pass."""
    return arg.startswith("-") and lookup(_flag_name(arg)) is not None


def _parse(argv: list[str]) -> _Invocation:
    inv = _Invocation()
    args = iter(argv)
    for arg in args:
        if arg == "-o":
            inv.output_path = next(args, "-")
        elif arg.startswith("-o") and not arg.startswith("--") and len(arg) > 2:
            inv.output_path = arg[2:]
        elif arg in ("--split-input-file", "-split-input-file"):
            inv.split_input_file = True
        elif arg in ("--mlir-print-op-generic", "-mlir-print-op-generic"):
            inv.print_generic = True
        elif arg.startswith("-") and arg != "-":
            name = _flag_name(arg)
            options = arg.split("=", 1)[1] if "=" in arg else ""
            inv.steps.append((name, options.strip("\"'")))
        else:
            inv.input_path = arg
    return inv


def _parse_options(text: str) -> dict[str, str]:
    options = {}
    for item in shlex.split(text):
        key, _, value = item.partition("=")
        options[key] = value
    return options


class _PassBug(Exception):
    """An exception other than a diagnostic escaped the pass `name`."""

    def __init__(self, name: str, error: BaseException) -> None:
        super().__init__(name)
        self.name, self.error = name, error


def _run_steps(module: ir.Module, steps: list[tuple[str, str]]) -> None:
    for name, options in steps:
        python_pass = lookup(name)
        try:
            if python_pass is not None:
                python_pass.run(module.operation, _parse_options(options))
            else:
                element = f"{name}{{{options}}}" if options else name
                PassManager.parse(f"builtin.module({element})").run(module.operation)
        except (ir.MLIRError, ValueError):
            raise
        except Exception as error:
            raise _PassBug(name, error) from error
        module.operation.verify()


def _report_bug(path: str, where: str, error: BaseException) -> None:
    message = str(error).splitlines()[0] if str(error) else ""
    print(
        f"{path}: error: internal error in {where}: {type(error).__name__}"
        f"{': ' + message if message else ''} (a bug, not a problem of the input)",
        file=sys.stderr,
    )
    if os.environ.get("PATTERN_MLIR_TRACEBACK"):
        traceback.print_exception(error, file=sys.stderr)


def run_python_pipeline(argv: list[str]) -> int:
    """Runs the command line `argv`; returns the process exit code."""
    inv = _parse(argv)
    # Bytes: the parser reports what is not UTF-8 itself, with a location.
    if inv.input_path == "-":
        text = sys.stdin.buffer.read()
    else:
        try:
            with open(inv.input_path, "rb") as source:
                text = source.read()
        except OSError as error:
            print(
                f"{inv.input_path}: error: cannot read the input: {error.strerror}", file=sys.stderr
            )
            return 1
    marker = _SPLIT_MARKER.encode()
    chunks = text.split(marker) if inv.split_input_file else [text]
    outputs, status = [], 0
    for chunk in chunks:
        with ir.Context(), ir.Location.unknown():
            try:
                hazards = upstream_hazards(chunk, inv.input_path)
                if hazards:
                    print("\n".join(hazards), file=sys.stderr)
                    status = 1
                    continue
                module = ir.Module.parse(chunk)
                _run_steps(module, inv.steps)
                outputs.append(module.operation.get_asm(print_generic_op_form=inv.print_generic))
            except (ir.MLIRError, ValueError) as error:
                print(f"{inv.input_path}: error: {error}", file=sys.stderr)
                status = 1
            except _PassBug as bug:
                _report_bug(inv.input_path, f"pass '{bug.name}'", bug.error)
                status = 1
            except Exception as error:  # noqa: BLE001 (the last resort: any bug)
                _report_bug(inv.input_path, "pattern-opt", error)
                status = 1
    result = f"\n{_SPLIT_MARKER}\n".join(outputs)
    if inv.output_path == "-":
        sys.stdout.write(result)
    else:
        with open(inv.output_path, "w") as out:
            out.write(result)
    return status
