"""Compiled models: call them on numpy arrays or torch tensors, save and load them."""

from __future__ import annotations

import ctypes
import json
import shutil
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..runtime.weight_blob import ExternalConstant
    from ..target import Target

# 2: host saves hold a shared library (object code) instead of LLVM-dialect IR to re-JIT.
# 3: x86 saves name their x86-64 level (host.json "cpu"); load() refuses a CPU without it.
FORMAT_VERSION = 3
ENTRY = "forward"


@dataclass(frozen=True)
class TensorSpec:
    """Static shape and element type of one input or output."""

    shape: tuple[int, ...]
    dtype: str = "float32"

    def to_json(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype}

    @staticmethod
    def from_json(data: dict) -> TensorSpec:
        return TensorSpec(tuple(data["shape"]), data["dtype"])


def _as_array(value, spec: TensorSpec, index: int) -> np.ndarray:
    """Checks one call argument; never lets a wrong buffer reach generated code."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if not isinstance(value, np.ndarray):
        raise TypeError(f"input {index} must be a numpy array or torch tensor, got {type(value).__name__}")
    if value.dtype != np.dtype(spec.dtype):
        raise TypeError(f"input {index} has dtype {value.dtype}, expected {spec.dtype}")
    if tuple(value.shape) != spec.shape:
        raise ValueError(f"input {index} has shape {tuple(value.shape)}, expected {spec.shape}")
    if not value.flags.c_contiguous:
        raise ValueError(f"input {index} is not C-contiguous; pass np.ascontiguousarray(x) or x.contiguous()")
    return value


class Executable:
    """A compiled model. Call it like the torch module it came from."""

    target = "host"

    def __init__(self, inputs: list[TensorSpec], outputs: list[TensorSpec], stages: dict[str, str]):
        self.inputs, self.outputs, self._stages = inputs, outputs, stages
        self.stage_seconds: dict[str, float] = {}  # compile time per stage, when compiled here
        self.compile_peak_rss = 0  # bytes the compiler's stage process peaked at (sampled), when compiled here

    def ir(self, stage: str) -> str:
        """The IR after `stage` (see `.stage_names`)."""
        if stage not in self._stages:
            raise KeyError(f"no stage {stage!r}; stages: {', '.join(self._stages)}")
        return self._stages[stage]

    @property
    def stage_names(self) -> list[str]:
        return list(self._stages)

    def __call__(self, *inputs):
        import torch

        if len(inputs) != len(self.inputs):
            raise TypeError(f"expected {len(self.inputs)} input(s), got {len(inputs)}")
        arrays = [_as_array(v, s, i) for i, (v, s) in enumerate(zip(inputs, self.inputs))]
        outputs = [np.empty(s.shape, s.dtype) for s in self.outputs]
        self._run(arrays, outputs)
        tensors = [torch.from_numpy(o) for o in outputs]
        return tensors[0] if len(tensors) == 1 else tuple(tensors)

    def _run(self, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
        raise NotImplementedError  # pragma: no cover - every target overrides it

    # ----- save / load ---------------------------------------------------------------------
    def _manifest(self) -> dict:
        from .. import __version__

        return {
            "format": FORMAT_VERSION,
            "pattern_mlir": __version__,
            "target": self.target,
            "inputs": [s.to_json() for s in self.inputs],
            "outputs": [s.to_json() for s in self.outputs],
            "stages": list(self._stages),
        }

    def save(self, path: str | Path) -> Path:
        """Writes the IR of every stage (constants elided) plus what the target needs to run."""
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in self._stages.items():
            (directory / f"{name}.mlir").write_text(text)
        self._save_artifacts(directory)
        (directory / "manifest.json").write_text(json.dumps(self._manifest(), indent=1))
        return directory

    def _save_artifacts(self, directory: Path) -> None:
        pass


def _packed_args(arrays: list[np.ndarray]) -> tuple[ctypes.Array, ctypes.Array]:
    """The `void **` block of a packed call with memrefs passed in expanded form."""
    values: list[int] = []
    for a in arrays:
        pointer = a.ctypes.data
        values += [pointer, pointer, 0, *a.shape, *(s // a.itemsize for s in a.strides)]
    block = (ctypes.c_int64 * len(values))(*values)
    base = ctypes.addressof(block)
    return block, (ctypes.c_void_p * len(values))(*(base + 8 * i for i in range(len(values))))


def _runtime_libraries(threads: int) -> list[str]:
    if threads <= 1:
        return []
    from ..runtime.shared_library import async_runtime_library

    lib = Path(sysconfig.get_paths()["purelib"]) / "mlir" / "lib"
    return [str(lib / "libmlir_c_runner_utils.so"), str(async_runtime_library())]


class HostExecutable(Executable):
    """Runs on this machine's CPU through MLIR's JIT (ExecutionEngine)."""

    target = "host"

    def __init__(self, inputs, outputs, stages, *, module, target: Target | None = None, opt_level: int = 3,
                 threads: int = 1, constants: list[ExternalConstant] = ()):
        """`module` is the LLVM-dialect module; it (and its context) stays alive with us.

        Its functions are stamped with `target` (``pattern_mlir.target.stamp_target``; default:
        the host's description), which must run on this CPU: the JIT then generates that target's code, and `save` builds
        the library from the same functions.

        Its large constants leave the module before code generation and the JIT reads them
        where they are (runtime/weight_blob.py): VGG-16's codegen 13 -> 3.5-4.5 s.
        `constants` are those already moved out of `module` (see `.constants`).
        """
        super().__init__(inputs, outputs, stages)
        from mlir.execution_engine import ExecutionEngine

        from ..runtime.allocator import keep_freed_buffers
        from ..runtime.llvm_options import configure_jit
        from ..runtime.weight_blob import bind_constants, externalize_constants, settle_alignment

        from ..target import require_runnable, resolve_target, stamp_target

        target = require_runnable(target or resolve_target("host"))
        keep_freed_buffers()
        self.threads, self.opt_level = threads, opt_level
        self.target, self.target_description = target.name, target
        self._module = module
        stamp_target(module.operation, target)
        moved = [*constants, *externalize_constants(module.operation)]
        self._constants = settle_alignment(module.operation, moved)
        configure_jit()
        self._engine = ExecutionEngine(module, opt_level=opt_level, shared_libs=_runtime_libraries(threads),
                                       enable_object_dump=False)
        self._bound = bind_constants(self._engine, self._constants)
        address = self._engine.raw_lookup(ENTRY)
        if not address:
            raise RuntimeError(f"the compiled module has no function @{ENTRY}")
        self._function = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(address)

    @property
    def module(self):
        """The LLVM-dialect module the JIT runs; its large constants are in `.constants`."""
        return self._module

    @property
    def constants(self) -> list[ExternalConstant]:
        return list(self._constants)

    def _run(self, inputs, outputs):
        block, pointers = _packed_args(inputs + outputs)
        self._function(pointers)
        del block

    def _save_artifacts(self, directory: Path) -> None:
        """The object code: the same LLVM-dialect module built by llc into libmodel.so."""
        from .library_build import build_model_library

        with self._module.context:
            module = self._module.operation.clone()
        build_model_library(module, directory / "build", self.target_description, self.opt_level,
                            constants=self._constants)
        shutil.copy(directory / "build" / "libmodel.so", directory / "libmodel.so")
        shutil.rmtree(directory / "build")
        _write_host_json(directory, self.opt_level, self.threads, self.target_description.cpu)


def _descriptor(array: np.ndarray) -> ctypes.Structure:
    """An MLIR memref descriptor of a C-contiguous array (what `_mlir_ciface_*` takes)."""
    rank = array.ndim

    class MemRef(ctypes.Structure):
        _fields_ = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p), ("offset", ctypes.c_int64),
                    ("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]

    strides = [s // array.itemsize for s in array.strides]
    pointer = array.ctypes.data
    return MemRef(pointer, pointer, 0, (ctypes.c_int64 * rank)(*array.shape), (ctypes.c_int64 * rank)(*strides))


def _write_host_json(directory: Path, opt_level: int, threads: int, cpu: str) -> None:
    """What loading a saved x86 library needs: build settings and the x86-64 level it needs."""
    (directory / "host.json").write_text(json.dumps({"opt_level": opt_level, "threads": threads, "cpu": cpu}))


class HostLibraryExecutable(Executable):
    """A saved x86 build: libmodel.so loaded with ctypes, no JIT (see `HostExecutable.save`).

    `cpu` is the x86-64 level the library was built for; loading it on a CPU without that
    level's instructions is refused (running it would die of an illegal instruction).
    """

    def __init__(self, inputs, outputs, stages, library: Path, *, cpu: str, target: str = "host",
                 opt_level: int = 3, threads: int = 1):
        super().__init__(inputs, outputs, stages)
        from ..runtime.allocator import keep_freed_buffers
        from ..target import resolve_target, runs_on_host

        level = resolve_target(cpu)
        if not runs_on_host(level):
            raise ValueError(f"{library} holds {level.isa} code ({cpu}), which this CPU does not run")
        keep_freed_buffers()
        self.target, self.cpu = target, cpu
        self.library, self.opt_level, self.threads = Path(library), opt_level, threads
        self.cdll = ctypes.CDLL(str(self.library))
        self._function = self.cdll._mlir_ciface_forward
        self._function.restype = None

    def _run(self, inputs, outputs):
        descriptors = [_descriptor(a) for a in inputs + outputs]
        self._function(*[ctypes.byref(d) for d in descriptors])

    def _save_artifacts(self, directory: Path) -> None:
        if self.library.resolve() != (directory / "libmodel.so").resolve():
            shutil.copy(self.library, directory / "libmodel.so")
        _write_host_json(directory, self.opt_level, self.threads, self.cpu)


class Arm64Executable(Executable):
    """Runs an aarch64 shared library under qemu-aarch64 (correctness, not speed)."""

    target = "arm64-neon"

    def __init__(self, inputs, outputs, stages, library: Path, workdir: Path):
        super().__init__(inputs, outputs, stages)
        from ..runtime.aarch64 import INDEX, Aarch64Module, MemRef  # noqa: F401

        self.library = Path(library)
        self._module = Aarch64Module(self.library, workdir=workdir)
        types = [MemRef(np.dtype(s.dtype), s.shape) for s in inputs + outputs]
        self._module.declare(ENTRY, types)

    def _run(self, inputs, outputs):
        count = len(inputs)
        results = self._module.call(ENTRY, inputs + outputs, list(range(count, count + len(outputs))))
        for out, result in zip(outputs, results):
            out[...] = result

    def _save_artifacts(self, directory: Path) -> None:
        shutil.copy(self.library, directory / self.library.name)


class VulkanModelExecutable(Executable):
    """Runs SPIR-V kernels on a Vulkan device (Adreno profile; lavapipe on a CPU)."""

    target = "vulkan-adreno"

    def __init__(self, inputs, outputs, stages, program):
        super().__init__(inputs, outputs, stages)
        self.program = program  # pattern_mlir.gpu.VulkanExecutable: .kernels, .last_timings

    def _run(self, inputs, outputs):
        for out, result in zip(outputs, self.program(*inputs)):
            out[...] = result

    def save(self, path):
        raise ValueError("saving vulkan-adreno executables is not supported; exe.ir(stage) gives the IR")
