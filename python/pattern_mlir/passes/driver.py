"""Runs `pattern-opt` command lines that name Python passes.

Supports what the tests and the compiler's repro commands use: an input file
(or `-`), `-o FILE`, `--split-input-file`, `--mlir-print-op-generic`,
`--verify-diagnostics`, and pass flags in order, `--name` or `--name="opt=value
opt2=value"`. Each Python pass is built from its flag once, before the input is read, so
a bad option is reported first (registry.ModulePass.parse). C++ passes in the same
command line run through the upstream PassManager in their position.

A pass reports what it cannot handle as a diagnostic: a `PassError` at the op's location,
an `ir.MLIRError` with the diagnostics of an upstream pass, or (no location) a
`ValueError`. They print as `file:line:col: error: message`; with `--verify-diagnostics`
they are checked against the input's `// expected-error {{...}}` annotations instead,
as mlir-opt checks a C++ pass's (`diagnostics.py`). Any other exception escaping a pass
is a bug in that pass: as a last resort it is reported as an `error: internal error in
pass ...` diagnostic too, so a user never sees a traceback; `PATTERN_MLIR_TRACEBACK=1`
prints the traceback as well, for whoever fixes the pass.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass, field

from mlir import ir
from mlir.passmanager import PassManager

from ..tools.upstream_guard import upstream_hazards
from . import diagnostics
from .diagnostics import Diagnostic
from .registry import ModulePass, PassError, lookup

_SPLIT_MARKER = "// -----"
_FLAGS = {
    "split-input-file": "split_input_file",
    "mlir-print-op-generic": "print_generic",
    "verify-diagnostics": "verify_diagnostics",
}


@dataclass
class _Invocation:
    input_path: str = "-"
    output_path: str = "-"
    split_input_file: bool = False
    print_generic: bool = False
    verify_diagnostics: bool = False
    steps: list[ModulePass | str] = field(default_factory=list)  # a pass, or an upstream one


def _flag_name(arg: str) -> str:
    return arg.lstrip("-").split("=", 1)[0]


def names_python_pass(arg: str) -> bool:
    """Whether a command-line argument is a flag naming a Python pass."""
    return arg.startswith("-") and lookup(_flag_name(arg)) is not None


def _parse(argv: list[str]) -> _Invocation:
    """The command line; a ValueError for a Python pass option it cannot take."""
    inv = _Invocation()
    args = iter(argv)
    for arg in args:
        if arg == "-o":
            inv.output_path = next(args, "-")
        elif arg.startswith("-o") and not arg.startswith("--") and len(arg) > 2:
            inv.output_path = arg[2:]
        elif arg.startswith("-") and _flag_name(arg) in _FLAGS and "=" not in arg:
            setattr(inv, _FLAGS[_flag_name(arg)], True)
        elif arg.startswith("-") and arg != "-":
            name = _flag_name(arg)
            options = arg.split("=", 1)[1].strip("\"'") if "=" in arg else ""
            python_pass = lookup(name)
            if python_pass is not None:
                inv.steps.append(python_pass.parse(options))
            else:
                inv.steps.append(f"{name}{{{options}}}" if options else name)
        else:
            inv.input_path = arg
    return inv


class _PassBug(Exception):
    """An exception other than a diagnostic escaped the pass `name`."""

    def __init__(self, name: str, error: BaseException) -> None:
        super().__init__(name)
        self.name, self.error = name, error


def _run_steps(module: ir.Module, steps: list[ModulePass | str]) -> None:
    for step in steps:
        try:
            if isinstance(step, ModulePass):
                step.apply(module.operation)
            else:
                PassManager.parse(f"builtin.module({step})").run(module.operation)
        except (ir.MLIRError, ValueError):
            raise
        except Exception as error:
            raise _PassBug(getattr(step, "name", step), error) from error
        module.operation.verify()


def _diagnostics_of(error: Exception) -> list[Diagnostic]:
    """What a failed parse or pass reported, as located diagnostics where it has a place."""
    if isinstance(error, ir.MLIRError):
        return diagnostics.from_mlir_error(error)
    if isinstance(error, PassError):
        return [diagnostics.from_location("error", error.detail, error.location)]
    return [Diagnostic("error", str(error), None)]


def _bug_report(path: str, where: str, error: BaseException) -> list[str]:
    message = str(error).splitlines()[0] if str(error) else ""
    lines = [
        f"{path}: error: internal error in {where}: {type(error).__name__}"
        f"{': ' + message if message else ''} (a bug, not a problem of the input)"
    ]
    if os.environ.get("PATTERN_MLIR_TRACEBACK"):
        lines.append("".join(traceback.format_exception(error)).rstrip())
    return lines


def _read_input(path: str) -> bytes | None:
    # Bytes: the parser reports what is not UTF-8 itself, with a location.
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as source:
            return source.read()
    except OSError as error:
        print(f"{path}: error: cannot read the input: {error.strerror}", file=sys.stderr)
        return None


def run_python_pipeline(argv: list[str]) -> int:
    """Runs the command line `argv`; returns the process exit code."""
    try:
        inv = _parse(argv)
    except ValueError as error:
        print(f"pattern-opt: error: {error}", file=sys.stderr)
        return 1
    text = _read_input(inv.input_path)
    if text is None:
        return 1
    marker = _SPLIT_MARKER.encode()
    chunks = text.split(marker) if inv.split_input_file else [text]
    outputs, status, line_offset = [], 0, 0
    for chunk in chunks:
        output, lines, failed = _run_chunk(chunk, inv, line_offset)
        line_offset += chunk.count(b"\n")
        if output is not None:
            outputs.append(output)
        if lines:
            print("\n".join(lines), file=sys.stderr)
        status = status or int(failed)
    result = f"\n{_SPLIT_MARKER}\n".join(outputs)
    if inv.output_path == "-":
        sys.stdout.write(result)
    else:
        with open(inv.output_path, "w") as out:
            out.write(result)
    return status


def _run_chunk(
    chunk: bytes, inv: _Invocation, line_offset: int
) -> tuple[str | None, list[str], bool]:
    """One input chunk through the steps: its output (None if it failed), the lines for
    stderr (diagnostics, or with --verify-diagnostics what did not match) and whether the
    command fails for it."""
    path = inv.input_path
    with ir.Context() as context, ir.Location.unknown():
        reported: list[Diagnostic] = []

        def collect(diagnostic: ir.Diagnostic) -> bool:
            reported.append(diagnostics.from_diagnostic(diagnostic))
            return True

        context.attach_diagnostic_handler(collect)
        output = None
        try:
            hazards = upstream_hazards(chunk, path)
            if hazards:
                return None, hazards, True
            module = ir.Module.parse(chunk)
            _run_steps(module, inv.steps)
            output = module.operation.get_asm(print_generic_op_form=inv.print_generic)
        except (ir.MLIRError, ValueError) as error:
            reported += _diagnostics_of(error)
        except _PassBug as bug:
            return None, _bug_report(path, f"pass '{bug.name}'", bug.error), True
        except Exception as error:  # noqa: BLE001 (the last resort: any bug)
            return None, _bug_report(path, "pattern-opt", error), True
    if inv.verify_diagnostics:
        source = chunk.decode("utf-8", errors="replace")
        problems = diagnostics.verify(path, source, reported, line_offset)
        return output, problems, bool(problems)
    lines = [diagnostics.format_diagnostic(path, d, line_offset) for d in reported]
    return output, lines, output is None or any(d.severity == "error" for d in reported)
