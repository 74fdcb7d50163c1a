"""Compiled models as callables, and loading saved ones: numpy and ctypes, no MLIR, no torch.

`Executable` is what `pattern_mlir.compile` returns and `pattern_mlir.load` rebuilds. This
module and what it imports must run where only the runtime is installed (a deployed model):
the compiler's executables (JIT, Vulkan) live in compiler/executable.py.
"""

from __future__ import annotations

import ctypes
import functools
import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np

from .artifact import LIBRARY, MANIFEST, ArtifactError, read_artifact, write_manifest
from .call_signature import Signature, TensorSpec
from .memref_arguments import MemRefArguments
from .tensor_call import tensor_call

__all__ = ["ENTRY", "Arm64Executable", "Executable", "HostLibraryExecutable", "TensorSpec", "load"]

ENTRY = "forward"


@functools.cache
def _torch():
    """torch if it is installed (results are then tensors, as from the module), else None."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def _as_array(value, spec: TensorSpec, index: int) -> np.ndarray:
    """Checks one call argument; never lets a wrong buffer reach generated code."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"input {index} must be a numpy array or torch tensor, got {type(value).__name__}"
        )
    if value.dtype != np.dtype(spec.dtype):
        raise TypeError(f"input {index} has dtype {value.dtype}, expected {spec.dtype}")
    if tuple(value.shape) != spec.shape:
        raise ValueError(f"input {index} has shape {tuple(value.shape)}, expected {spec.shape}")
    if not value.flags.c_contiguous:
        raise ValueError(
            f"input {index} is not C-contiguous; pass np.ascontiguousarray(x) or x.contiguous()"
        )
    if spec.bounds is not None and value.size:
        low, high = spec.bounds
        smallest, largest = int(value.min()), int(value.max())
        if smallest < low or largest >= high:
            wrong = smallest if smallest < low else largest
            raise ValueError(
                f"input {index} holds {wrong}; its values index a table and must lie in "
                f"[{low}, {high})"
            )
    return value


def _no_tensor_call(inputs) -> None:
    return None


def _within(tensor, bounds: tuple[int, int]) -> bool:
    """Whether every value of a torch tensor lies in [low, high) (`_as_array` says which does
    not)."""
    if tensor.numel() == 0:
        return True
    return bounds[0] <= int(tensor.min()) and int(tensor.max()) < bounds[1]


class Executable:
    """A compiled model. Call it like the torch module it came from."""

    target = "host"
    cpu = ""  # the CPU (x86-64 level or core) the code was built for; "" for GPUs
    opt_level = 3
    threads = 1

    def __init__(self, inputs: list[TensorSpec], outputs: list[TensorSpec], stages: dict[str, str]):
        self.inputs, self.outputs, self._stages = inputs, outputs, stages
        self.stage_seconds: dict[str, float] = {}  # compile time per stage, when compiled here
        self.compile_peak_rss = (
            0  # bytes the compiler's stage process peaked at (sampled), when compiled here
        )

    def ir(self, stage: str) -> str:
        """The IR after `stage` (see `.stage_names`)."""
        if stage not in self._stages:
            raise KeyError(f"no stage {stage!r}; stages: {', '.join(self._stages)}")
        return self._stages[stage]

    @property
    def stage_names(self) -> list[str]:
        return list(self._stages)

    @property
    def signature(self) -> Signature:
        return Signature(self.target, self.cpu, tuple(self.inputs), tuple(self.outputs))

    def run(self, *inputs) -> list[np.ndarray]:
        """Runs the model on numpy arrays (or torch tensors); returns numpy arrays."""
        if len(inputs) != len(self.inputs):
            raise TypeError(f"expected {len(self.inputs)} input(s), got {len(inputs)}")
        arrays = [_as_array(v, s, i) for i, (v, s) in enumerate(zip(inputs, self.inputs))]
        outputs = [np.empty(s.shape, s.dtype) for s in self.outputs]
        self._run(arrays, outputs)
        return outputs

    def __call__(self, *inputs):
        """Runs the model; torch tensors out where torch is installed, else numpy arrays."""
        call = self._tensor_call or self._make_tensor_call()
        results = call(inputs)
        if results is not None:
            return results
        torch = _torch()
        outputs = self.run(*inputs)
        results = [torch.from_numpy(o) for o in outputs] if torch else outputs
        return results[0] if len(results) == 1 else tuple(results)

    _tensor_call = None  # the generated call path for tensors, made on the first call

    def _make_tensor_call(self):
        """runtime/tensor_call.py's path where this target runs in-process on raw buffers and
        torch is installed; else one that sends every call down `run`."""
        torch = _torch()
        if torch is None or self._arguments is None:
            self._tensor_call = _no_tensor_call
        else:
            self._tensor_call = tensor_call(
                torch, self.inputs, self.outputs, self._arguments, self._enter, _within
            )
        return self._tensor_call

    def _run(self, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
        arguments = self._arguments
        block = arguments.take([a.ctypes.data for a in (*inputs, *outputs)])
        self._enter(block)
        arguments.release(block)

    # A target that runs its code in this process on raw buffers sets `_arguments` (the
    # descriptors of its inputs, then its outputs) and defines `_enter(block)`, which calls the
    # code on one block of them; the others override `_run`.
    _arguments: MemRefArguments | None = None

    def _enter(self, block) -> None:
        raise NotImplementedError  # pragma: no cover - set with `_arguments`

    # ----- save ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Writes the IR of every stage (constants elided), the library, and the manifest that
        ties them together (runtime/artifact.py)."""
        from .. import __version__

        if type(self)._save_library is Executable._save_library:
            self._save_library(Path(path))  # refuses before anything is written
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / MANIFEST).unlink(missing_ok=True)  # no stale manifest over half-written files
        for name, text in self._stages.items():
            (directory / f"{name}.mlir").write_text(text)
        self._save_library(directory / LIBRARY)
        write_manifest(
            directory,
            self.signature,
            opt_level=self.opt_level,
            threads=self.threads,
            stages=list(self._stages),
            version=__version__,
        )
        return directory

    def _save_library(self, path: Path) -> None:
        raise ValueError(
            f"saving {self.target} executables is not supported; exe.ir(stage) gives the IR"
        )


class HostLibraryExecutable(Executable):
    """A saved x86 build: libmodel.so loaded with ctypes, no JIT.

    `cpu` is the x86-64 level the library was built for; loading it on a CPU without that
    level's instructions is refused (running it would die of an illegal instruction).
    """

    def __init__(
        self,
        inputs,
        outputs,
        stages,
        library: Path,
        *,
        cpu: str,
        target: str = "host",
        opt_level: int = 3,
        threads: int = 1,
    ):
        super().__init__(inputs, outputs, stages)
        from ..target.registry import resolve_target, runs_on_host
        from .allocator import keep_freed_buffers

        level = resolve_target(cpu)
        if not runs_on_host(level):
            raise ArtifactError(
                library, f"holds {level.isa} code ({cpu}), which this CPU does not run"
            )
        keep_freed_buffers()
        self.target, self.cpu = target, cpu
        self.library, self.opt_level, self.threads = Path(library), opt_level, threads
        self.cdll = ctypes.CDLL(str(self.library))
        self._function = self.cdll._mlir_ciface_forward
        self._function.restype = None
        self._arguments = MemRefArguments(inputs + outputs)

    def _enter(self, block):
        self._function(*block.descriptors)

    def _save_library(self, path: Path) -> None:
        if self.library.resolve() != path.resolve():
            shutil.copy(self.library, path)


class Arm64Executable(Executable):
    """Runs an aarch64 shared library under qemu-aarch64 (correctness, not speed)."""

    target = "arm64-neon"

    def __init__(
        self, inputs, outputs, stages, library: Path, workdir: Path, *, cpu: str, opt_level: int = 3
    ):
        super().__init__(inputs, outputs, stages)
        from .aarch64 import Aarch64Module, MemRef

        self.library, self.cpu, self.opt_level = Path(library), cpu, opt_level
        self._module = Aarch64Module(self.library, workdir=workdir)
        types = [MemRef(np.dtype(s.dtype), s.shape) for s in inputs + outputs]
        self._module.declare(ENTRY, types)

    def _run(self, inputs, outputs):
        count = len(inputs)
        results = self._module.call(
            ENTRY, inputs + outputs, list(range(count, count + len(outputs)))
        )
        for out, result in zip(outputs, results):
            out[...] = result

    def _save_library(self, path: Path) -> None:
        if self.library.resolve() != path.resolve():
            shutil.copy(self.library, path)


def load(path: str | Path) -> Executable:
    """Loads a model written by `Executable.save` after verifying it (runtime/artifact.py).

    Needs numpy and, for arm64 builds, qemu-aarch64; not MLIR or torch. Raises
    `ArtifactError` naming the file for a directory that does not hold a loadable model.
    """
    from ..target.registry import resolve_target

    artifact = read_artifact(path)
    signature = artifact.signature
    stages = {name: (artifact.directory / f"{name}.mlir").read_text() for name in artifact.stages}
    inputs, outputs = list(signature.inputs), list(signature.outputs)
    try:
        description = resolve_target(signature.target)
    except ValueError as error:
        raise ArtifactError(artifact.directory / MANIFEST, str(error)) from None
    if description.triple.startswith("x86_64"):
        return HostLibraryExecutable(
            inputs,
            outputs,
            stages,
            artifact.library,
            cpu=signature.cpu,
            target=signature.target,
            opt_level=artifact.opt_level,
            threads=artifact.threads,
        )
    if description.triple.startswith("aarch64"):
        # The qemu driver is built beside a scratch directory of its own: loading never
        # writes into the saved model (which may be read-only, or shared).
        workdir = Path(tempfile.mkdtemp(prefix="pattern-mlir-arm64-"))
        executable = Arm64Executable(
            inputs,
            outputs,
            stages,
            artifact.library,
            workdir,
            cpu=signature.cpu,
            opt_level=artifact.opt_level,
        )
        weakref.finalize(executable, shutil.rmtree, workdir, ignore_errors=True)
        return executable
    raise ArtifactError(
        artifact.directory / MANIFEST, f"target {signature.target!r} cannot be saved or loaded"
    )
