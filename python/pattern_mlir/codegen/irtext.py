"""The SSA text writer of every generated MLIR function (CPU kernels and GPU kernels).

The emitters unroll hundreds of ops per pattern with compile-time constant offsets; writing
them as text keeps them short and readable and independent of any particular Context, and
lets the result be parsed by either the upstream `mlir` bindings or `pattern-opt`. Constants
are hoisted to the top of the body (they dominate every use, nested regions stay small) and
de-duplicated.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

__all__ = ["FuncWriter", "f32_literal", "vec_type"]


def vec_type(width: int, elem: str = "f32") -> str:
    return f"vector<{width}x{elem}>"


def f32_literal(value: float) -> str:
    """An MLIR float literal that round-trips float32 exactly."""
    return f"{float(np.float32(value)):.9e}"


class FuncWriter:
    """Accumulates the body of one func.func; hands out fresh SSA names."""

    def __init__(self, indent: int = 1) -> None:
        """`indent`: the nesting depth of the body (1 in a func.func, deeper in a gpu.func
        inside its gpu.module)."""
        self._lines: list[str] = []
        self._consts: dict[tuple[str, str], str] = {}
        self._const_lines: list[str] = []
        self._counter = 0
        self._base_indent = indent
        self._indent = indent

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
            pad = "  " * self._base_indent
            self._const_lines.append(f"{pad}{name} = arith.constant {value} : {type_}")
            self._consts[key] = name
        return self._consts[key]

    def index(self, value: int) -> str:
        return self.const(str(int(value)), "index")

    def f32(self, value: float) -> str:
        return self.const(f32_literal(value), "f32")

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
            self._const_lines.append(f"{'  ' * self._base_indent}{name} = {rhs}")
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
    def scf_for(self, lo, hi, step=1, iter_args: list[tuple[str, str]] | None = None):
        """``scf.for`` as a context: yields (induction variable, [iter-arg names]); bounds are
        ints or index values (for_loop / end_loop: the same without iter args or a block).

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
