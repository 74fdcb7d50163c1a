"""Keep large constants out of the LLVM IR: raw bytes in an object assembled with `.incbin`.

A model's weights reach the LLVM dialect as `llvm.mlir.global constant` ops with dense
initializers. Printed as LLVM IR text they take about 20 bytes per float, and opt and llc then
hold them several times over: ResNet-50 built slowly for arm64 and VGG-16 ran out of memory
(measured: docs/design.md, section 10). `externalize_constants` turns every large initialised
constant into an external declaration of the same symbol and returns its bytes; `assemble_blob`
writes the bytes into one file and an assembly source that defines each symbol over its slice
with `.incbin`. The library links that object beside the compiled code, so the weights cost the
toolchain nothing but a copy. The host JIT binds the same symbols to the bytes in memory
(`bind_constants`): LLVM's code generation emits constant arrays element by element, a large
share of VGG-16's compile (measured: docs/design.md, section 10).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mlir import ir

from ..runtime.toolchain import run_tool

__all__ = [
    "ExternalConstant",
    "assemble_blob",
    "bind_constants",
    "externalize_constants",
    "settle_alignment",
]

# Constants below this stay in the IR (the toolchain handles them at no measurable cost).
MIN_EXTERNAL_BYTES = 4096
_ALIGNMENT = 64
# Constants up to this size are copied to their declared alignment (`settle_alignment`).
_COPY_BYTES = 16 << 20


@dataclass(frozen=True)
class ExternalConstant:
    """One constant moved out of the IR: its symbol, bytes (a flat uint8 array) and alignment."""

    symbol: str
    data: np.ndarray
    alignment: int


def externalize_constants(
    module: ir.Module | ir.Operation, min_bytes: int = MIN_EXTERNAL_BYTES
) -> list[ExternalConstant]:
    """Makes every initialised constant global of `min_bytes` or more an external declaration.

    `module` (a module or its operation) is in the LLVM dialect; it is changed in place.
    Splat initialisers stay (they print as one value). The bytes are a view of the attribute's
    storage, which lives as long as the context, not a copy.
    """
    moved = []
    operation = module.operation if isinstance(module, ir.Module) else module
    with operation.context:
        external = ir.Attribute.parse("#llvm.linkage<external>")
        for op in operation.regions[0].blocks[0].operations:
            if op.operation.name != "llvm.mlir.global":
                continue
            attrs = op.operation.attributes
            if "constant" not in attrs or "value" not in attrs:
                continue
            value = attrs["value"]
            if not isinstance(value, ir.DenseElementsAttr) or value.is_splat:
                continue
            data = np.ascontiguousarray(np.asarray(value)).reshape(-1).view(np.uint8)
            if data.nbytes < min_bytes:
                continue
            align = int(ir.IntegerAttr(attrs["alignment"]).value) if "alignment" in attrs else 0
            moved.append(
                ExternalConstant(
                    ir.StringAttr(attrs["sym_name"]).value, data, max(align, _ALIGNMENT)
                )
            )
            del attrs["value"]
            attrs["linkage"] = external
    return moved


def settle_alignment(
    module: ir.Module | ir.Operation, constants: list[ExternalConstant]
) -> list[ExternalConstant]:
    """Declares each external constant of `module` larger than `_COPY_BYTES` with the
    alignment its bytes already have; smaller ones keep the declared one (`bind_constants`
    copies them there).

    MLIR keeps attribute data 16-byte aligned; the globals ask for 64, so binding the bytes as
    they are would break the declared alignment, and copying them all costs a second copy of
    every weight. Kernels that read a weight panel as vectors, again and again from cache (the
    pixels x filters convs), need the 64: at 16 bytes off every vector load splits two cache
    lines, and such a conv ran measurably slower, depending on where the heap had put its panel
    (measured: docs/design.md, section 10). The large constants are linear layers' weights,
    whose vector loads are bound by memory bandwidth. Returns the constants with the alignment
    now declared.
    """
    by_symbol = {c.symbol: c for c in constants}
    operation = module.operation if isinstance(module, ir.Module) else module
    with operation.context:
        i64 = ir.IntegerType.get_signless(64)
        for op in operation.regions[0].blocks[0].operations:
            if op.operation.name != "llvm.mlir.global":
                continue
            c = by_symbol.get(ir.StringAttr(op.operation.attributes["sym_name"]).value)
            if c is None:
                continue
            have = c.data.ctypes.data & -c.data.ctypes.data  # the address's lowest set bit
            if have < c.alignment and c.data.nbytes > _COPY_BYTES:
                op.operation.attributes["alignment"] = ir.IntegerAttr.get(i64, have)
                by_symbol[c.symbol] = dataclasses.replace(c, alignment=have)
    return [by_symbol[c.symbol] for c in constants]


def assemble_blob(constants: list[ExternalConstant], workdir: Path, compiler: str) -> Path:
    """Writes `weights.bin` and `weights.S` into `workdir` and assembles `weights.o` with `compiler`.

    Symbols are global but hidden: the library's code reaches them, its users do not.
    """
    workdir = Path(workdir).resolve()
    blob, source = workdir / "weights.bin", workdir / "weights.S"
    lines = [".section .rodata"]
    offset = 0
    with blob.open("wb") as out:
        for c in constants:
            out.write(c.data)
            lines += [
                f".balign {c.alignment}",
                f".globl {c.symbol}",
                f".hidden {c.symbol}",
                f".type {c.symbol}, %object",
                f".size {c.symbol}, {c.data.nbytes}",
                f"{c.symbol}:",
                f'.incbin "{blob.name}", {offset}, {c.data.nbytes}',
            ]
            offset += c.data.nbytes
    source.write_text("\n".join(lines) + "\n")
    obj = workdir / "weights.o"
    run_tool(compiler, ["-c", source.name, "-o", obj.name], cwd=workdir)
    return obj


def bind_constants(engine, constants: list[ExternalConstant]) -> list[np.ndarray]:
    """Points each constant's symbol in an ExecutionEngine at its bytes; call before any lookup.

    Bytes not on the constant's alignment are copied to an aligned buffer first (the generated
    code may use aligned vector loads). Returns the arrays the engine now reads: keep them alive
    as long as the engine.
    """
    import ctypes

    from ..runtime.buffers import aligned_empty

    bound = []
    for c in constants:
        data = c.data
        if data.ctypes.data % c.alignment:
            data = aligned_empty(data.shape, np.uint8, c.alignment)
            data[...] = c.data
        engine.raw_register_runtime(c.symbol, ctypes.c_void_p(data.ctypes.data))
        bound.append(data)
    return bound
