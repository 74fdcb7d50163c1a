"""Run generated pattern convs on the host CPU: lower, JIT, call from a thread pool.

The generated function is reached through its packed wrapper (``ExecutionEngine.raw_lookup``
returns ``_mlir_<name>(void **args)``): one ctypes call with a preallocated argument block,
no per-call descriptor objects. ctypes releases the GIL during the call, so a Python thread
pool over balanced filter groups uses every core with no extra runtime.
"""

from __future__ import annotations

import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..codegen.activation import Activation
from ..codegen.emit_conv import ConvKernelPlan, emit_conv, plan_conv
from ..codegen.fkw import (
    PackedFKW,
    balanced_partition,
    pack,
    validate_pattern_layer,
)
from ..codegen.geometry import ConvGeometry, pad_input_into
from ..codegen.kernel_args import kernel_arrays
from ..codegen.schedule import Schedule, cpu_target, filter_groups
from ..runtime.buffers import aligned_zeros
from ..target import Target, require_runnable, runs_on_host, stamp_target
from .llvm_lowering import to_llvm_pipeline

__all__ = ["LOWERING_PIPELINE", "JitFunction", "PatternConvKernel", "jit_compile"]

# The compiler's own lowering to the LLVM dialect (its `llvm` stage at one thread): the
# kernels JIT-compiled here, which the tuner times, are built as compile() builds them.
LOWERING_PIPELINE = to_llvm_pipeline(threads=1)


class JitFunction:
    """A JIT-compiled MLIR module; ``packed(name)`` gives its packed entry point.

    The code is generated for `target` (default: the host), whose functions carry its CPU
    and features (``target.stamp_target``): the JIT of this machine can build x86-64-v3 code.
    """

    def __init__(self, module_text: str, opt_level: int = 3, target: str | Target = "host") -> None:
        from mlir import ir, passmanager
        from mlir.execution_engine import ExecutionEngine

        from .llvm_options import configure_jit

        self.context = ir.Context()
        with self.context, ir.Location.unknown():
            self.module = ir.Module.parse(module_text)
            passmanager.PassManager.parse(LOWERING_PIPELINE).run(self.module.operation)
            stamp_target(self.module.operation, _runnable(target))
            configure_jit()
            self.engine = ExecutionEngine(self.module, opt_level=opt_level)

    def packed(self, func_name: str) -> int:
        return self.engine.raw_lookup(func_name)

    def dump_object(self, path: str) -> None:
        self.engine.dump_to_object_file(path)


def jit_compile(module_text: str, opt_level: int = 3, target: str | Target = "host") -> JitFunction:
    return JitFunction(module_text, opt_level, target)


def _runnable(target: str | Target) -> Target:
    """The record of CPU target `target`, which must run on this machine."""
    return require_runnable(cpu_target(target))


class _PackedCall:
    """A preallocated ``void *args[]`` block for one packed call; slots are int64 values."""

    _FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

    def __init__(self, address: int, values: list[int]) -> None:
        self._fn = self._FN(address)
        self.values = (ctypes.c_int64 * len(values))(*values)
        base = ctypes.addressof(self.values)
        self._ptrs = (ctypes.c_void_p * len(values))(*[base + 8 * i for i in range(len(values))])

    def __call__(self) -> None:
        self._fn(self._ptrs)


def _memref_values(a: np.ndarray) -> list[int]:
    """Expanded memref descriptor: allocated, aligned, offset, sizes, strides (elements)."""
    ptr = a.ctypes.data
    return [ptr, ptr, 0, *a.shape, *(s // a.itemsize for s in a.strides)]


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    with _POOLS_LOCK:
        if workers not in _POOLS:
            _POOLS[workers] = ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix="pattern-conv"
            )
        return _POOLS[workers]


@dataclass
class _Compiled:
    """One input size's generated function, its buffers and per-thread call blocks."""

    plan: ConvKernelPlan
    text: str
    jit: JitFunction
    in_buf: np.ndarray
    calls: list[_PackedCall]
    out_slot: int
    lock: threading.Lock
    arrays: list  # every array the call blocks hold raw pointers into


class PatternConvKernel:
    """A pattern-pruned 3x3 conv (+ bias + activation) compiled for the host CPU.

    weights (O, I, 3, 3) float, library (P, 3, 3) bool masks with equal tap counts,
    assignment (O, I) int with -1 for removed kernels; values outside a kernel's pattern are
    ignored. The function is generated per input size on first use (or at construction when
    ``input_size=(H, W)`` is given). Call with x of shape (1, I, H, W), float32, C-contiguous.
    ``num_threads`` (default: one per CPU) caps the filter groups run in parallel; the
    schedule's ``threads`` may ask for fewer. ``target`` is a CPU target of
    ``pattern_mlir.target``: its description sizes the default schedule, and the code is
    generated for it when this CPU runs it (else for the host).
    """

    def __init__(
        self,
        weights: np.ndarray | PackedFKW,
        library: np.ndarray | None,
        assignment: np.ndarray | None,
        bias: np.ndarray | None = None,
        stride=1,
        padding=0,
        dilation=1,
        activation: str | Activation = "none",
        schedule: Schedule | None = None,
        target: str = "host",
        *,
        clamp: tuple[float, float] | None = None,
        num_threads: int | None = None,
        input_size: tuple[int, int] | None = None,
    ) -> None:
        if isinstance(weights, PackedFKW):  # from_packed: the library and assignment are inside
            _check_packed(weights)
            packed = weights
        else:
            validate_pattern_layer(weights, library, assignment)
            packed = pack(weights, library, assignment)
        activation = Activation.make(activation, clamp)
        # A target this CPU does not run (arm64-neon) still plans its schedule and vector
        # shapes; the code is then built for the host, which checks that plan's numerics.
        self.target = cpu_target(target).name
        self._jit_target = self.target if runs_on_host(cpu_target(target)) else "host"
        self.packed = packed
        o = packed.out_channels
        if bias is None:
            bias = np.zeros(o, dtype=np.float32)
        bias = np.ascontiguousarray(bias, dtype=np.float32)
        if bias.shape != (o,):
            raise ValueError(f"bias must have shape ({o},), got {bias.shape}")
        self.bias = bias
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.activation = activation
        self.schedule = schedule
        # As in compiled models: num_threads (default: every CPU) is the budget, and the
        # schedule's `threads` may ask for fewer filter groups.
        budget = int(num_threads or os.cpu_count() or 1)
        self.num_threads = filter_groups(schedule or Schedule(), budget, o)
        self._compiled: dict[tuple[int, int], _Compiled] = {}
        self._last: _Compiled | None = None
        if input_size is not None:
            self._compiled_for(*input_size)

    @classmethod
    def from_packed(cls, packed: PackedFKW, *args, **kwargs) -> PatternConvKernel:
        """Build from FKW arrays packed elsewhere (they are checked, not trusted); the other
        arguments are the constructor's, from `bias` on."""
        return cls(packed, None, None, *args, **kwargs)

    # ----- compilation -------------------------------------------------------------------
    def geometry(self, height: int, width: int) -> ConvGeometry:
        p = self.packed
        return ConvGeometry.make(
            p.in_channels, p.out_channels, height, width, self.stride, self.padding, self.dilation
        )

    def _compiled_for(self, height: int, width: int) -> _Compiled:
        key = (int(height), int(width))
        if key in self._compiled:
            return self._compiled[key]
        plan = plan_conv(
            self.geometry(*key), self.packed.library, self.schedule, self.activation, self.target
        )
        text = emit_conv(plan)
        jit = jit_compile(text, target=self._jit_target)
        address = jit.packed(plan.func_name)
        in_buf = aligned_zeros(plan.input_shape)
        p = self.packed
        dummy_out = np.empty(plan.output_shape, dtype=np.float32)
        own = kernel_arrays(plan, p)
        caller = {"input": in_buf, "bias": self.bias}
        arrays = [
            caller.get(n, own.get(n)) for n in plan.arg_names[: plan.arg_names.index("output")]
        ]
        values = []
        for a in arrays:
            values += _memref_values(a)
        out_slot = len(values)
        values += _memref_values(dummy_out)
        bounds = balanced_partition(p, self.num_threads)
        calls = []
        for g in range(self.num_threads):
            if bounds[g + 1] > bounds[g]:
                calls.append(_PackedCall(address, values + [int(bounds[g]), int(bounds[g + 1])]))
        compiled = _Compiled(plan, text, jit, in_buf, calls, out_slot, threading.Lock(), arrays)
        self._compiled[key] = compiled
        self._last = compiled
        return compiled

    @property
    def mlir(self) -> str:
        """Generated MLIR (before lowering) of the most recently compiled input size."""
        if self._last is None:
            raise RuntimeError(
                "nothing compiled yet: pass input_size=(H, W) or call the kernel once"
            )
        return self._last.text

    def plan(self, height: int, width: int) -> ConvKernelPlan:
        return self._compiled_for(height, width).plan

    # ----- running -----------------------------------------------------------------------
    def _check_input(self, x) -> np.ndarray:
        c = self.packed.in_channels
        if not isinstance(x, np.ndarray):
            raise TypeError(
                f"expected a numpy.ndarray of shape (1, {c}, H, W), got {type(x).__name__}"
            )
        if x.dtype != np.float32:
            raise TypeError(f"expected float32 input of shape (1, {c}, H, W), got dtype {x.dtype}")
        if x.ndim != 4 or x.shape[0] != 1 or x.shape[1] != c:
            raise ValueError(f"expected input of shape (1, {c}, H, W), got {x.shape}")
        if not x.flags.c_contiguous:
            raise ValueError(f"expected a C-contiguous input of shape (1, {c}, H, W)")
        return x

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = self._check_input(x)
        compiled = self._compiled_for(x.shape[2], x.shape[3])
        out = np.empty((1, *compiled.plan.output_shape), dtype=np.float32)
        with compiled.lock:
            pad_input_into(x[0], compiled.plan.geometry, compiled.in_buf)
            self._run(compiled, out)
        return out

    def run_padded(self, height: int, width: int, out: np.ndarray) -> None:
        """Run on whatever the padded input buffer holds (for kernel-only timing)."""
        compiled = self._compiled_for(height, width)
        if (
            out.shape[-3:] != compiled.plan.output_shape
            or out.dtype != np.float32
            or not out.flags.c_contiguous
        ):
            raise ValueError(
                f"out must be C-contiguous float32 of shape {compiled.plan.output_shape}"
            )
        with compiled.lock:
            self._run(compiled, out)

    def _run(self, compiled: _Compiled, out: np.ndarray) -> None:
        ptr = out.ctypes.data
        for call in compiled.calls:
            call.values[compiled.out_slot] = ptr
            call.values[compiled.out_slot + 1] = ptr
        calls = compiled.calls
        if len(calls) == 1:
            calls[0]()
            return
        futures = [_pool(len(calls) - 1).submit(call) for call in calls[1:]]
        calls[0]()
        for fut in futures:
            fut.result()


def _check_packed(p: PackedFKW) -> None:
    """Reject FKW arrays that would make the kernel read or write out of bounds."""
    o, num_p, k = p.out_channels, p.num_patterns, p.num_kernels
    arrays = {
        "filter_order": (p.filter_order, np.int32),
        "offsets": (p.offsets, np.int32),
        "channels": (p.channels, np.int32),
        "weights": (p.weights, np.float32),
    }
    for name, (a, dt) in arrays.items():
        if not isinstance(a, np.ndarray) or a.dtype != dt or not a.flags.c_contiguous:
            raise TypeError(f"packed {name} must be a C-contiguous {np.dtype(dt).name} array")
    if sorted(p.filter_order.tolist()) != list(range(o)):
        raise ValueError(f"packed filter_order must be a permutation of 0..{o - 1}")
    if (
        p.offsets.shape != (o * num_p + 1,)
        or p.offsets[0] != 0
        or p.offsets[-1] != k
        or np.any(np.diff(p.offsets) < 0)
    ):
        raise ValueError(
            f"packed offsets must be non-decreasing, of shape ({o * num_p + 1},), from 0 to {k}"
        )
    if k and (p.channels.min() < 0 or p.channels.max() >= p.in_channels):
        raise ValueError(f"packed channels must lie in [0, {p.in_channels})")
    t = int(np.asarray(p.library).reshape(num_p, 9).sum(axis=1)[0])
    if p.weights.shape != (k, t):
        raise ValueError(f"packed weights must have shape ({k}, {t}), got {p.weights.shape}")
