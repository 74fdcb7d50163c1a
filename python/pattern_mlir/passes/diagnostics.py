"""Diagnostics of the Python passes in `pattern-opt`: collected, printed, or verified.

A Python pass reports a problem with an op as an MLIR error at the op's location
(registry.PassError); upstream passes in the same command line report theirs as
`ir.MLIRError`. Both become `Diagnostic`s here. Without `--verify-diagnostics` they are
printed as `file:line:col: error: message`. With it they are matched against the input's
annotations, as mlir-opt's SourceMgrDiagnosticVerifierHandler matches a C++ pass's:

    // expected-error @+1 {{text the message contains}}
    // expected-warning @-2 {{...}}      @+N / @-N: N lines below / above
    // expected-remark @above {{...}}    @above / @below: the line above / below
    // expected-error {{...}}            no offset: this line

Every diagnostic must be expected and every expectation met, else each miss is an error;
so is an annotation that does not parse, which would otherwise check nothing.
Notes attached to an error are checked only where an `expected-note` names one. Line
numbers are those of the split chunk (`--split-input-file`), as the annotations are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlir import ir

_SEVERITIES = {
    ir.DiagnosticSeverity.ERROR: "error",
    ir.DiagnosticSeverity.WARNING: "warning",
    ir.DiagnosticSeverity.REMARK: "remark",
    ir.DiagnosticSeverity.NOTE: "note",
}
_ANNOTATION = re.compile(r"expected-(?:error|warning|remark|note)\b")
_EXPECTED = re.compile(
    r"expected-(error|warning|remark|note)\s*(?:@\s*(above|below|[+-]\d+))?\s*\{\{(.*?)\}\}"
)


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # error, warning, remark or note
    message: str
    line: int | None  # in the chunk, 1-based; None where the location names no file line
    column: int | None = None


@dataclass(frozen=True)
class Expectation:
    severity: str
    text: str
    line: int  # the line the diagnostic must be on
    written_on: int  # the annotation's own line


def position(location: ir.Location) -> tuple[int, int] | None:
    """The file line and column a location points at, looking through names, call sites
    and fusions; None for an unknown location."""
    if location.is_a_file():
        return location.start_line, location.start_col
    if location.is_a_name():
        return position(location.child_loc)
    if location.is_a_callsite():
        return position(location.callee)
    if location.is_a_fused():
        for inner in location.locations:
            found = position(inner)
            if found is not None:
                return found
    return None


def from_location(severity: str, message: str, location: ir.Location | None) -> Diagnostic:
    found = position(location) if location is not None else None
    return Diagnostic(severity, message, *(found or (None, None)))


def from_diagnostic(diagnostic: ir.Diagnostic) -> Diagnostic:
    """A diagnostic the context's handler received (a Python pass's emit_error)."""
    return from_location(_SEVERITIES[diagnostic.severity], diagnostic.message, diagnostic.location)


def from_mlir_error(error: ir.MLIRError) -> list[Diagnostic]:
    """The diagnostics an upstream pass or the parser reported, notes included."""
    found = []
    for info in error.error_diagnostics:
        found.append(from_location(_SEVERITIES[info.severity], info.message, info.location))
        found += [from_location("note", note.message, note.location) for note in info.notes]
    if not found:
        found.append(Diagnostic("error", str(error), None))
    return found


def format_diagnostic(path: str, diagnostic: Diagnostic, line_offset: int = 0) -> str:
    """`path:line:col: severity: message`, the line counted from the start of the file."""
    where = path
    if diagnostic.line is not None:
        where += f":{diagnostic.line + line_offset}:{diagnostic.column}"
    return f"{where}: {diagnostic.severity}: {diagnostic.message}"


def expectations(text: str) -> tuple[list[Expectation], list[int]]:
    """The `expected-*` annotations of an input chunk, and the lines holding one that does
    not parse (`{{` without `}}`, an unknown offset): such a line would otherwise check
    nothing."""
    found, malformed = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        matches = list(_EXPECTED.finditer(line))
        if len(matches) != len(_ANNOTATION.findall(line)):
            malformed.append(number)
        for match in matches:
            severity, offset, wanted = match.groups()
            if offset is None:
                target = number
            elif offset in ("above", "below"):
                target = number + (1 if offset == "below" else -1)
            else:
                target = number + int(offset)
            found.append(Expectation(severity, wanted, target, number))
    return found, malformed


def verify(path: str, text: str, diagnostics: list[Diagnostic], line_offset: int = 0) -> list[str]:
    """The errors of `--verify-diagnostics` for one chunk: diagnostics nobody expected and
    expectations nothing met, as printable lines; empty when they agree."""
    wanted, malformed = expectations(text)
    checks_notes = any(e.severity == "note" for e in wanted)
    problems = [
        f"{path}:{number + line_offset}: error: an expected-* annotation that does not parse "
        "(write `// expected-error @+1 {{text}}`)"
        for number in malformed
    ]
    for diagnostic in diagnostics:
        if diagnostic.severity == "note" and not checks_notes:
            continue
        match = next(
            (
                e
                for e in wanted
                if e.severity == diagnostic.severity
                and e.line == diagnostic.line
                and e.text in diagnostic.message
            ),
            None,
        )
        if match is None:
            unexpected = Diagnostic(
                "error",
                f"unexpected {diagnostic.severity}: {diagnostic.message}",
                diagnostic.line,
                diagnostic.column,
            )
            problems.append(format_diagnostic(path, unexpected, line_offset))
        else:
            wanted.remove(match)
    for missed in wanted:
        problems.append(
            f"{path}:{missed.written_on + line_offset}: error: expected {missed.severity} "
            f'"{missed.text}" was not produced'
        )
    return problems
