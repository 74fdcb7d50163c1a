"""Elementwise consumers fused into a kernel's stores (ReLU, ReLU6, residual add, ...).

torch-mlir writes the activation after a conv as separate `linalg.generic` ops on the
whole tensor (ReLU6 is two: max with 0, min with 6; a ResNet block ends in add + ReLU).
When the conv's result feeds only such a chain, the kernel applies it to each accumulator
vector before the store, so the tensor is written once instead of being read and written
again per op.

A chain link is a single-result, all-parallel `linalg.generic` with the previous value as an
identity-indexed input, whose other inputs are scalar constants (rank-0 constant tensors) or
at most one same-shape tensor (the residual, when the kernel allows one), whose `outs`
value is not read, and whose body uses only the arith ops in `_OPS`. The body is recorded as
an `Epilogue`: a list of steps the emitters render with vector types.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from mlir import ir

from ..utils.constants import constant_array, scalar_constant

__all__ = ["Epilogue", "fuse_consumers"]

# Elementwise arith ops the epilogue can render on vectors (all f32 -> f32 except cmpf).
_OPS = {
    "arith.addf",
    "arith.subf",
    "arith.mulf",
    "arith.divf",
    "arith.maximumf",
    "arith.minimumf",
    "arith.maxnumf",
    "arith.minnumf",
    "arith.negf",
    "arith.cmpf",
    "arith.select",
}

Ref = tuple  # ("x",) accumulator, ("s", k) step k, ("c", value) constant, ("r",) residual


@dataclass
class Epilogue:
    steps: list = field(default_factory=list)  # (op name, predicate or "", [Ref, ...])
    result: Ref = ("x",)
    residual: ir.Value | None = None  # the same-shape tensor operand, if any
    ops: list = field(default_factory=list)  # the fused generics, in order

    @property
    def empty(self) -> bool:
        return not self.steps

    def render(self, w, value: str, vt: str, mt: str, residual: str | None = None) -> str:
        """Emits the steps on vector `value` with writer `w`; returns the final vector."""
        from ...codegen.dense_gemm import f32_literal

        names: list[str] = []

        def ref(r: Ref) -> str:
            if r[0] == "x":
                return value
            if r[0] == "s":
                return names[r[1]]
            if r[0] == "c":
                return w.const(f"dense<{f32_literal(r[1])}>", vt)
            if residual is None:
                raise ValueError("epilogue needs the residual vector")
            return residual

        for name, predicate, args in self.steps:
            a = [ref(r) for r in args]
            if name == "arith.cmpf":
                names.append(w.op(f"arith.cmpf {predicate}, {a[0]}, {a[1]} : {vt}", "m"))
            elif name == "arith.select":
                names.append(w.op(f"arith.select {a[0]}, {a[1]}, {a[2]} : {mt}, {vt}", "v"))
            elif name == "arith.negf":
                names.append(w.op(f"arith.negf {a[0]} : {vt}", "v"))
            else:
                names.append(w.op(f"{name} {a[0]}, {a[1]} : {vt}", "v"))
        return ref(self.result)


def _identity(m: ir.AffineMap, rank: int) -> bool:
    return m == ir.AffineMap.get_identity(rank)


def _link(
    op: ir.Operation, prev: ir.Value, shape: tuple, epi: Epilogue, allow_residual: bool
) -> Ref | None:
    """Appends the body of generic `op` (consuming `prev`) to `epi`; returns its result ref."""
    if (
        op.name != "linalg.generic"
        or len(op.results) != 1
        or tuple(op.results[0].type.shape) != shape
    ):
        return None
    iterators = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    if any("parallel" not in it for it in iterators):
        return None
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    rank = len(shape)
    n_in = len(op.operands) - 1
    block = op.regions[0].blocks[0]
    env: dict = {}
    residual = None
    found_prev = False
    for i in range(n_in):
        value, m, arg = op.operands[i], maps[i], block.arguments[i]
        if value == prev and _identity(m, rank) and not found_prev:
            env[arg] = epi.result
            found_prev = True
            continue
        const = constant_array(value)
        if const is not None and const.size == 1 and len(m.results) == 0:
            env[arg] = ("c", float(const.reshape(())))
            continue
        if (
            allow_residual
            and epi.residual is None
            and residual is None
            and _identity(m, rank)
            and isinstance(value.type, ir.RankedTensorType)
            and tuple(value.type.shape) == shape
        ):
            residual = value
            env[arg] = ("r",)
            continue
        return None
    if not found_prev or _used(block.arguments[n_in]):
        return None
    steps = []
    base = len(epi.steps)
    local: dict = {}
    ops = list(block.operations)
    for body_op in ops[:-1]:
        name = body_op.operation.name
        if name not in _OPS or len(body_op.results) != 1:
            return None
        args = []
        for operand in body_op.operands:
            r = _ref(operand, env, local)
            if r is None:
                return None
            args.append(r)
        predicate = ""
        if name == "arith.cmpf":
            predicate = str(body_op.attributes["predicate"]).split(":")[0].strip()
            predicate = _PREDICATES.get(predicate, predicate)
        local[body_op.results[0]] = ("s", base + len(steps))
        steps.append((name, predicate, args))
    result = _ref(ops[-1].operands[0], env, local)
    if result is None:
        return None
    epi.steps += steps
    if residual is not None:
        epi.residual = residual
    return result


# arith.cmpf prints its predicate attribute as an integer; the assembly wants the keyword.
_PREDICATES = {
    str(i): name
    for i, name in enumerate(
        [
            "false",
            "oeq",
            "ogt",
            "oge",
            "olt",
            "ole",
            "one",
            "ord",
            "ueq",
            "ugt",
            "uge",
            "ult",
            "ule",
            "une",
            "uno",
            "true",
        ]
    )
}


def _ref(value: ir.Value, env: dict, local: dict) -> Ref | None:
    if value in env:
        return env[value]
    if value in local:
        return local[value]
    c = scalar_constant(value)
    if c is not None and isinstance(c, float):
        return ("c", c)
    return None


def _used(value: ir.Value) -> bool:
    return next(iter(value.uses), None) is not None


def _single_user(value: ir.Value) -> ir.Operation | None:
    uses = list(value.uses)
    if len(uses) != 1:
        return None
    owner = uses[0].owner
    return owner.operation if isinstance(owner, ir.OpView) else owner


def fuse_consumers(result: ir.Value, allow_residual: bool) -> Epilogue:
    """The chain of fusable elementwise consumers of `result` (possibly empty)."""
    epi = Epilogue()
    shape = tuple(result.type.shape)
    current = result
    while True:
        user = _single_user(current)
        if user is None:
            break
        trial = Epilogue(list(epi.steps), epi.result, epi.residual, list(epi.ops))
        ref = _link(user, current, shape, trial, allow_residual)
        if ref is None:
            break
        trial.result = ref
        trial.ops.append(user)
        epi = trial
        current = user.results[0]
    return epi


def as_float(value) -> float:
    return float(np.float32(value))
