"""The host side of a lowered module as plain data: buffers, dispatches, outputs.

Why a plan separate from Vulkan: it is what the executable replays, what the
report prints and what tests inspect, and building it needs no device. Every
``memref`` value of the host function maps to a buffer: function arguments are
inputs (uploaded per call), ``memref.get_global`` constants hold the weights
(uploaded once), ``memref.alloc`` results are intermediates (allocated once);
views (collapse/expand_shape, casts, offset-0 subviews) and the vec4 casts of
pattern kernels alias the buffer they view. Each ``gpu.launch_func`` becomes a
dispatch binding its operands in argument order (descriptor set 0, binding i).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from mlir import ir

from pattern_mlir.gpu.errors import GpuLoweringError, UnsupportedOpError
from pattern_mlir.gpu.pattern_lowering import KIND_ATTR, MACS_ATTR
from pattern_mlir.passes.utils.constants import defining_op, elements_array, scalar_constant
from pattern_mlir.passes.utils.conv_info import collect_ops

#: Element types a host buffer can hold.
_DTYPES = {
    "f32": np.float32,
    "f64": np.float64,
    "i32": np.int32,
    "i64": np.int64,
    "i1": np.bool_,
    "i8": np.int8,
    "i16": np.int16,
    "f16": np.float16,
}


def numpy_dtype(element_type: ir.Type) -> np.dtype:
    name = str(element_type)
    if name not in _DTYPES:
        raise GpuLoweringError(f"buffer element type {name} is not supported")
    return np.dtype(_DTYPES[name])


_VIEWS = {
    "memref.collapse_shape",
    "memref.expand_shape",
    "memref.cast",
    "memref.reinterpret_cast",
    "memref.subview",
    "builtin.unrealized_conversion_cast",
}


@dataclass
class BufferSpec:
    """One device buffer. ``kind``: input | constant | temp | scalar."""

    index: int
    shape: tuple[int, ...]
    dtype: np.dtype
    kind: str
    data: np.ndarray | None = None
    name: str = ""

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


@dataclass(frozen=True)
class DispatchSpec:
    """One kernel launch: ``module`` names the binary, ``entry`` its entry point."""

    module: str
    entry: str
    buffers: tuple[int, ...]
    groups: tuple[int, int, int]
    workgroup_size: tuple[int, int, int]
    kind: str = "upstream"  # pattern | dense | depthwise (the conv kernel) | upstream
    kept_macs: int = 0  # of a conv kernel: multiply-adds of its kept taps per inference


@dataclass
class HostPlan:
    buffers: list[BufferSpec] = field(default_factory=list)
    dispatches: list[DispatchSpec] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)

    def constant_bytes(self) -> int:
        return sum(b.nbytes for b in self.buffers if b.kind == "constant")

    def temp_bytes(self) -> int:
        return sum(b.nbytes for b in self.buffers if b.kind == "temp")


def find_entry(module: ir.Module, name: str | None = "main") -> ir.Operation:
    funcs = [f for f in collect_ops(module, "func.func") if f.regions[0].blocks]
    for func in funcs:
        if ir.StringAttr(func.attributes["sym_name"]).value == name:
            return func
    if name == "main" and len(funcs) == 1:
        return funcs[0]
    names = [ir.StringAttr(f.attributes["sym_name"]).value for f in funcs]
    raise GpuLoweringError(f"no function @{name} to run; the module defines {names}")


def _memref_shape(type_: ir.Type) -> tuple[tuple[int, ...], np.dtype]:
    memref = ir.MemRefType(type_)
    return tuple(memref.shape), numpy_dtype(memref.element_type)


class _HostPlanBuilder:
    def __init__(self, module: ir.Module):
        self.plan = HostPlan()
        self.buffer_of: dict = {}
        self.globals = {
            ir.StringAttr(g.attributes["sym_name"]).value: g
            for g in collect_ops(module, "memref.global")
        }
        self.constants: dict[str, int] = {}

    def new(self, type_, kind, data=None, name="") -> int:
        shape, dtype = _memref_shape(type_)
        spec = BufferSpec(len(self.plan.buffers), shape, dtype, kind, data, name)
        self.plan.buffers.append(spec)
        return spec.index

    def buffer(self, value: ir.Value, user) -> int:
        if value not in self.buffer_of:
            producer = defining_op(value)
            what = producer.name if producer is not None else "a block argument"
            raise UnsupportedOpError(what, f"its result is used by a kernel at {user.location}")
        return self.buffer_of[value]

    def scalar(self, value: ir.Value, user) -> int:
        """A 4-byte buffer holding a constant scalar kernel argument."""
        producer = defining_op(value)
        if producer is None or producer.name != "arith.constant":
            raise GpuLoweringError(
                f"kernel argument of type {value.type} at {user.location} is not a constant"
            )
        attr = producer.attributes["value"]
        if isinstance(attr, ir.FloatAttr):
            data = np.array([ir.FloatAttr(attr).value], dtype=np.float32)
        else:
            data = np.array([ir.IntegerAttr(attr).value], dtype=np.int32)
        spec = BufferSpec(len(self.plan.buffers), (1,), data.dtype, "scalar", data)
        self.plan.buffers.append(spec)
        return spec.index

    def visit(self, op: ir.Operation) -> None:
        name = op.name
        if name == "memref.alloc":
            self.buffer_of[op.results[0]] = self.new(op.results[0].type, "temp")
        elif name == "memref.get_global":
            symbol = ir.FlatSymbolRefAttr(op.attributes["name"]).value
            if symbol not in self.constants:
                glob = self.globals[symbol]
                shape, dtype = _memref_shape(op.results[0].type)
                data = elements_array(glob.attributes["initial_value"], shape, dtype)
                if data is None:
                    raise GpuLoweringError(f"cannot read the data of global @{symbol}")
                self.constants[symbol] = self.new(op.results[0].type, "constant", data, symbol)
            self.buffer_of[op.results[0]] = self.constants[symbol]
        elif name in _VIEWS:
            if name == "memref.subview" and "strided" in str(op.results[0].type):
                if not list(op.results[0].uses):
                    return
                raise UnsupportedOpError(
                    name, f"a strided view is used on the host at {op.location}"
                )
            self.buffer_of[op.results[0]] = self.buffer(op.operands[0], op)
        elif name == "gpu.launch_func":
            self.launch(op)
        elif name == "func.return":
            for value in op.operands:
                shape, _ = _memref_shape(value.type)
                self.plan.outputs.append((self.buffer(value, op), shape))
        elif name in ("arith.constant", "memref.dealloc"):
            return
        else:
            raise UnsupportedOpError(name, f"it stayed on the host at {op.location}")

    def launch(self, op: ir.Operation) -> None:
        view = op.opview
        ref = str(op.attributes["kernel"])
        module, entry = (part.lstrip("@") for part in ref.split("::"))
        groups = tuple(scalar_constant(v) for v in (view.gridSizeX, view.gridSizeY, view.gridSizeZ))
        size = tuple(
            scalar_constant(v) for v in (view.blockSizeX, view.blockSizeY, view.blockSizeZ)
        )
        if None in groups or None in size:
            raise GpuLoweringError(f"launch of {ref} has a non-constant grid or workgroup size")
        buffers = []
        for value in view.kernelOperands:
            if isinstance(value.type, ir.MemRefType):
                buffers.append(self.buffer(value, op))
            else:
                buffers.append(self.scalar(value, op))
        attrs = op.attributes
        kind = ir.StringAttr(attrs[KIND_ATTR]).value if KIND_ATTR in attrs else "upstream"
        macs = ir.IntegerAttr(attrs[MACS_ATTR]).value if MACS_ATTR in attrs else 0
        self.plan.dispatches.append(
            DispatchSpec(module, entry, tuple(buffers), groups, size, kind, macs)
        )


def build_host_plan(module: ir.Module, entry: str | None = "main") -> HostPlan:
    """The plan of function ``entry`` (default @main, or the only function)."""
    func = find_entry(module, entry)
    builder = _HostPlanBuilder(module)
    block = func.regions[0].blocks[0]
    for arg in block.arguments:
        if not isinstance(arg.type, ir.MemRefType):
            raise GpuLoweringError(f"argument of type {arg.type}: only tensors can be inputs")
        index = builder.new(arg.type, "input", name=f"input{len(builder.plan.inputs)}")
        builder.buffer_of[arg] = index
        builder.plan.inputs.append(index)
    for op in block.operations:
        builder.visit(op.operation)
    return builder.plan
