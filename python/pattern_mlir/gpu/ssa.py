"""A small writer of MLIR SSA text for generated gpu.func bodies.

Why text: the pattern-conv kernels are unrolled per pattern and per tap, with
compile-time constant offsets everywhere; writing them as text is short and
readable, and the result is parsed (and verified) in whichever Context lowers
it. Constants are hoisted to the top of the body and de-duplicated, so every use
is dominated and the nested regions stay small.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np


def f32_literal(value: float) -> str:
    """An MLIR float literal that round-trips float32 exactly."""
    return f"{float(np.float32(value)):.9e}"


class SsaWriter:
    """Accumulates one region body; hands out fresh SSA names."""

    def __init__(self, indent: int = 3):
        self._lines: list[str] = []
        self._const_lines: list[str] = []
        self._consts: dict[tuple[str, str], str] = {}
        self._counter = 0
        self._base_indent = indent
        self._indent = indent

    # -- names and lines ----------------------------------------------------------
    def fresh(self, prefix: str = "v") -> str:
        self._counter += 1
        return f"%{prefix}{self._counter}"

    def line(self, text: str) -> None:
        self._lines.append("  " * self._indent + text)

    def op(self, rhs: str, prefix: str = "v") -> str:
        """Emit ``%new = rhs``; return ``%new``."""
        name = self.fresh(prefix)
        self.line(f"{name} = {rhs}")
        return name

    def body(self) -> str:
        return "\n".join(self._const_lines + self._lines)

    # -- constants ----------------------------------------------------------------
    def const(self, value: str, type_: str) -> str:
        key = (value, type_)
        if key not in self._consts:
            name = self.fresh("c")
            pad = "  " * self._base_indent
            self._const_lines.append(f"{pad}{name} = arith.constant {value} : {type_}")
            self._consts[key] = name
        return self._consts[key]

    def index(self, value: int) -> str:
        return self.const(str(int(value)), "index")

    def f32(self, value: float) -> str:
        return self.const(f32_literal(value), "f32")

    # -- index arithmetic with constant folding -------------------------------------
    def add(self, a: str | int, b: str | int) -> str | int:
        if isinstance(a, int) and isinstance(b, int):
            return a + b
        if b == 0:
            return a
        if a == 0:
            return b
        return self.op(f"arith.addi {self._v(a)}, {self._v(b)} : index")

    def mul(self, a: str | int, b: str | int) -> str | int:
        if isinstance(a, int) and isinstance(b, int):
            return a * b
        if b == 1:
            return a
        if a == 1:
            return b
        if a == 0 or b == 0:
            return 0
        return self.op(f"arith.muli {self._v(a)}, {self._v(b)} : index")

    def sub(self, a: str | int, b: str | int) -> str | int:
        if isinstance(a, int) and isinstance(b, int):
            return a - b
        if b == 0:
            return a
        return self.op(f"arith.subi {self._v(a)}, {self._v(b)} : index")

    def divu(self, a: str, b: int) -> str | int:
        if b == 1:
            return a
        return self.op(f"arith.divui {self._v(a)}, {self.index(b)} : index")

    def remu(self, a: str, b: int) -> str | int:
        if b == 1:
            return 0
        return self.op(f"arith.remui {self._v(a)}, {self.index(b)} : index")

    def cmp(self, pred: str, a: str | int, b: str | int) -> str:
        return self.op(f"arith.cmpi {pred}, {self._v(a)}, {self._v(b)} : index")

    def and_(self, a: str | None, b: str | None) -> str | None:
        if a is None:
            return b
        if b is None:
            return a
        return self.op(f"arith.andi {a}, {b} : i1")

    def select(self, cond: str, a: str | int, b: str | int, type_: str = "index") -> str:
        return self.op(f"arith.select {cond}, {self._v(a, type_)}, {self._v(b, type_)} : {type_}")

    def v(self, value: str | int) -> str:
        """An index SSA name for ``value`` (materialising ints as constants)."""
        return self._v(value)

    def _v(self, value: str | int, type_: str = "index") -> str:
        if isinstance(value, int):
            return self.const(str(value), type_)
        return value

    # -- structured control flow ----------------------------------------------------
    @contextmanager
    def for_loop(self, lo, hi, step=1, iter_args: list[tuple[str, str]] | None = None):
        """``scf.for``; yields (induction variable, [iter-arg names]).

        ``iter_args``: (initial value, type) pairs. The caller must call
        ``yield_(values)`` as the loop body's last statement when it has iter args.
        Results are available as ``self.last_results`` after the block.
        """
        iv = self.fresh("i")
        iter_args = iter_args or []
        names = [self.fresh("a") for _ in iter_args]
        results = [self.fresh("r") for _ in iter_args]
        head = f"scf.for {iv} = {self._v(lo)} to {self._v(hi)} step {self._v(step)}"
        if iter_args:
            inits = ", ".join(f"{n} = {init}" for n, (init, _) in zip(names, iter_args))
            types = ", ".join(t for _, t in iter_args)
            res = ", ".join(results)
            self.line(f"{res} = {head} iter_args({inits}) -> ({types}) {{")
        else:
            self.line(f"{head} {{")
        self._indent += 1
        self.last_results = results
        yield iv, names
        self._indent -= 1
        self.line("}")
        self.last_results = results

    def yield_(self, values: list[str], types: list[str]) -> None:
        if values:
            self.line(f"scf.yield {', '.join(values)} : {', '.join(types)}")

    @contextmanager
    def if_(self, cond: str | None):
        """``scf.if`` without results; ``cond`` None means always (no op emitted)."""
        if cond is None:
            yield
            return
        self.line(f"scf.if {cond} {{")
        self._indent += 1
        yield
        self._indent -= 1
        self.line("}")
