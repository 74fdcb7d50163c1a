"""Finds vector registers spilled to the stack in generated assembly, per function.

A register block that needs more vector registers than the target has makes LLVM store
accumulators to the stack and load them back inside the hot loop; the block sizes of the
target description are meant to rule that out, and tests check it in the assembly of each
target (objdump's AT&T syntax for x86, llc's output for AArch64).
"""

from __future__ import annotations

import re

__all__ = ["functions_of", "vector_spills"]

_LABEL = re.compile(r"^(?:[0-9a-f]+ <)?([A-Za-z_.$][\w.$]*)>?:(?:\s|$)")
# A vector register moved to or from a stack slot (x86: %rsp-relative; AArch64: [sp, ...]).
_STACK_VECTOR = {
    "x86_64": re.compile(r"\(%rsp\).*%[xyz]mm\d|%[xyz]mm\d.*\(%rsp\)"),
    "aarch64": re.compile(r"\b(?:ldr|str|ldp|stp|ldur|stur)\s+q\d+.*\[sp\b"),
}


def functions_of(asm: str) -> dict[str, list[str]]:
    """The instruction lines of each function label in `asm`."""
    functions: dict[str, list[str]] = {}
    current = None
    for line in asm.splitlines():
        match = _LABEL.match(line)
        if match and not match.group(1).startswith((".L", ".Ltmp")):
            current = functions.setdefault(match.group(1), [])
        elif (
            current is not None and line.strip() and not line.lstrip().startswith((".", "//", "#"))
        ):
            current.append(line)
    return functions


def vector_spills(asm: str, triple: str, names: str = "") -> dict[str, list[str]]:
    """Stack accesses of vector registers in each function whose name contains `names`."""
    arch = triple.split("-")[0]
    pattern = _STACK_VECTOR[arch]
    return {
        name: [line for line in lines if pattern.search(line)]
        for name, lines in functions_of(asm).items()
        if names in name
    }
