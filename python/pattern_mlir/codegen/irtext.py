"""A minimal SSA text writer for generated MLIR functions.

The conv emitter unrolls a few hundred vector ops per pattern; writing them as text keeps it
independent of any particular Context and lets the result be parsed by either the upstream
`mlir` bindings or `pattern-opt`. Constants are hoisted to the top of the function body (they
dominate every use) and de-duplicated.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FuncWriter", "f32_literal", "vec_type"]


def vec_type(width: int, elem: str = "f32") -> str:
    return f"vector<{width}x{elem}>"


def f32_literal(value: float) -> str:
    """An MLIR float literal that round-trips float32 exactly."""
    return f"{float(np.float32(value)):.9e}"


class FuncWriter:
    """Accumulates the body of one func.func; hands out fresh SSA names."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._consts: dict[tuple[str, str], str] = {}
        self._const_lines: list[str] = []
        self._counter = 0
        self._indent = 1

    def fresh(self, prefix: str = "v") -> str:
        self._counter += 1
        return f"%{prefix}{self._counter}"

    def line(self, text: str) -> None:
        self._lines.append("  " * self._indent + text)

    def op(self, rhs: str, prefix: str = "v") -> str:
        """Emit ``%new = rhs`` and return ``%new``."""
        name = self.fresh(prefix)
        self.line(f"{name} = {rhs}")
        return name

    def indent(self) -> None:
        self._indent += 1

    def dedent(self) -> None:
        self._indent -= 1

    def const(self, value: str, type_: str) -> str:
        """A hoisted ``arith.constant value : type_``."""
        key = (value, type_)
        if key not in self._consts:
            name = self.fresh("c")
            self._const_lines.append(f"  {name} = arith.constant {value} : {type_}")
            self._consts[key] = name
        return self._consts[key]

    def index(self, value: int) -> str:
        return self.const(str(int(value)), "index")

    def add_index(self, base: str, offset: int) -> str:
        """``base + offset`` on index values; no op for offset 0."""
        if offset == 0:
            return base
        return self.op(f"arith.addi {base}, {self.index(offset)} : index", "i")

    def mul_index(self, value: str, factor: int) -> str:
        """``value * factor`` on index values; no op for factor 1."""
        if factor == 1:
            return value
        return self.op(f"arith.muli {value}, {self.index(factor)} : index", "i")

    def raw_const(self, rhs: str, key: str) -> str:
        """A hoisted op that is not an arith.constant (e.g. vector.constant_mask)."""
        k = ("raw", key)
        if k not in self._consts:
            name = self.fresh("c")
            self._const_lines.append(f"  {name} = {rhs}")
            self._consts[k] = name
        return self._consts[k]

    def body(self) -> str:
        return "\n".join(self._const_lines + self._lines)
