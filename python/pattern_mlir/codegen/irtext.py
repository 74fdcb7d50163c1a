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

    def mask(self, lanes: int, width: int) -> str:
        """A hoisted ``vector.constant_mask`` of the first ``lanes`` of ``width``."""
        return self.raw_const(
            f"vector.constant_mask [{lanes}] : {vec_type(width, 'i1')}", f"mask{lanes}x{width}"
        )

    def vector_load(self, buf: str, buf_t: str, idx: str, lanes: int, width: int) -> str:
        """``width`` f32 lanes of ``buf`` from ``idx``; with ``lanes`` < width only the first
        lanes are read (the rest are 0), so a row's tail reads nothing past it."""
        vt = vec_type(width)
        if lanes < width:
            zero = self.const("dense<0.0>", vt)
            return self.op(
                f"vector.maskedload {buf}[{idx}], {self.mask(lanes, width)}, {zero} : "
                f"{buf_t}, {vec_type(width, 'i1')}, {vt} into {vt}",
                "v",
            )
        return self.op(f"vector.load {buf}[{idx}] : {buf_t}, {vt}", "v")

    def vector_store(
        self, value: str, buf: str, buf_t: str, idx: str, lanes: int, width: int
    ) -> None:
        """Stores the first ``lanes`` of ``value`` (all ``width`` unless fewer) at ``idx``."""
        vt = vec_type(width)
        if lanes < width:
            self.line(
                f"vector.maskedstore {buf}[{idx}], {self.mask(lanes, width)}, {value} : "
                f"{buf_t}, {vec_type(width, 'i1')}, {vt}"
            )
        else:
            self.line(f"vector.store {value}, {buf}[{idx}] : {buf_t}, {vt}")

    def for_loop(self, lo: int | str, hi: int | str, step: int = 1) -> str:
        """Opens an ``scf.for`` (bounds: ints or index values); returns its induction variable.
        Close it with ``end_loop``."""
        iv = self.fresh("i")
        lo = self.index(lo) if isinstance(lo, int) else lo
        hi = self.index(hi) if isinstance(hi, int) else hi
        self.line(f"scf.for {iv} = {lo} to {hi} step {self.index(step)} {{")
        self.indent()
        return iv

    def end_loop(self) -> None:
        self.dedent()
        self.line("}")

    def body(self) -> str:
        return "\n".join(self._const_lines + self._lines)
