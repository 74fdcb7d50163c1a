"""From an MLIR diagnostic back to the user's model: the torch op and the source line.

The torch import names every op's location `"<torch op> in <module path> (<class>)"` at the
user's file and line (frontend/torch_mlir_hooks.py `node_location`). A parse error points into
the imported text instead ("-":10:12), so `describe_unparsable_op` reads that op's location
out of the text.
"""

from __future__ import annotations

import re

__all__ = ["describe_unparsable_op"]

_UNKNOWN_OP = re.compile(r"Dialect `(\w+)' not found for custom op '([\w.]+)'")
_TEXT_POSITION = re.compile(r'"-":(\d+):(\d+)')
# loc("aten.sort.default in forward"("/path/model.py":4:0)) or loc("aten.sort.default in forward")
_LOCATION = re.compile(r'loc\("((?:[^"\\]|\\.)*)"(?:\("((?:[^"\\]|\\.)*)":(\d+):\d+\))?\)')

# What torch-mlir emits as its own TMTensor ops, and the torch ops that lead there.
_TM_TENSOR_SOURCES = "sort, argsort, topk, scatter, index_put, and similar"


def _location_text(text: str, line: int) -> str | None:
    """`"<torch op> in <module>" at <file>:<line>` for the op starting on 1-based `line`."""
    lines = text.splitlines()
    for candidate in lines[line - 1 : line + 40]:
        found = _LOCATION.search(candidate)
        if found:
            name, path, source_line = found.groups()
            return f"{name} at {path}:{source_line}" if path else name
    return None


def describe_unparsable_op(text: str, message: str) -> str | None:
    """A message naming the torch op behind an op of a dialect the compiler does not have,
    or None when `message` is another parse error."""
    unknown, position = _UNKNOWN_OP.search(message), _TEXT_POSITION.search(message)
    if not unknown or not position:
        return None
    dialect, op = unknown.groups()
    origin = _location_text(text, int(position.group(1))) or "an op of the model"
    why = f" (torch-mlir lowers {_TM_TENSOR_SOURCES} to it)" if dialect == "tm_tensor" else ""
    return (
        f"{origin}: the import produced '{op}', a {dialect} op{why}; pattern-mlir does not "
        f"compile the {dialect} dialect. Rewrite that part of the model with other torch ops, "
        "or run it outside the compiled model."
    )
