"""Executables only the compiler makes: the host JIT and the Vulkan program.

The runtime's part (the `Executable` base, saved libraries, `load`) is runtime/executable.py,
which needs neither MLIR nor torch.
"""

from __future__ import annotations

import ctypes
import shutil
import sysconfig
from pathlib import Path
from typing import TYPE_CHECKING

from ..runtime.executable import ENTRY, Executable
from ..runtime.memref_arguments import MemRefArguments

if TYPE_CHECKING:
    from ..backend.weight_blob import ExternalConstant
    from ..target import Target


def _runtime_libraries(threads: int) -> list[str]:
    if threads <= 1:
        return []
    from ..backend.shared_library import async_runtime_library

    lib = Path(sysconfig.get_paths()["purelib"]) / "mlir" / "lib"
    return [str(lib / "libmlir_c_runner_utils.so"), str(async_runtime_library())]


class HostExecutable(Executable):
    """Runs on this machine's CPU through MLIR's JIT (ExecutionEngine)."""

    target = "host"

    def __init__(
        self,
        inputs,
        outputs,
        stages,
        *,
        module,
        target: Target | None = None,
        opt_level: int = 3,
        threads: int = 1,
        constants: list[ExternalConstant] = (),
    ):
        """`module` is the LLVM-dialect module; it (and its context) stays alive with us.

        Its functions are stamped with `target` (``pattern_mlir.target.stamp_target``; default:
        the host's description), which must run on this CPU: the JIT then generates that target's code, and `save` builds
        the library from the same functions.

        Its large constants leave the module before code generation and the JIT reads them
        where they are (backend/weight_blob.py), which saves LLVM emitting them element by element.
        `constants` are those already moved out of `module` (see `.constants`).
        """
        super().__init__(inputs, outputs, stages)
        from mlir.execution_engine import ExecutionEngine

        from ..backend.llvm_options import configure_jit
        from ..backend.weight_blob import bind_constants, externalize_constants, settle_alignment
        from ..runtime.allocator import keep_freed_buffers
        from ..target import require_runnable, resolve_target, stamp_target

        target = require_runnable(target or resolve_target("host"))
        keep_freed_buffers()
        self.threads, self.opt_level = threads, opt_level
        self.target, self.cpu, self.target_description = target.name, target.cpu, target
        self._module = module
        stamp_target(module.operation, target)
        moved = [*constants, *externalize_constants(module.operation)]
        self._constants = settle_alignment(module.operation, moved)
        configure_jit()
        self._engine = ExecutionEngine(
            module,
            opt_level=opt_level,
            shared_libs=_runtime_libraries(threads),
            enable_object_dump=False,
        )
        self._bound = bind_constants(self._engine, self._constants)
        address = self._engine.raw_lookup(ENTRY)
        if not address:
            raise RuntimeError(f"the compiled module has no function @{ENTRY}")
        self._function = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(address)
        self._arguments = MemRefArguments(inputs + outputs)

    @property
    def module(self):
        """The LLVM-dialect module the JIT runs; its large constants are in `.constants`."""
        return self._module

    @property
    def constants(self) -> list[ExternalConstant]:
        return list(self._constants)

    def _enter(self, block):
        self._function(block.packed)

    def _save_library(self, path: Path) -> None:
        """The object code: the same LLVM-dialect module built by llc into libmodel.so."""
        from ..backend.library_build import build_model_library

        with self._module.context:
            module = self._module.operation.clone()
        build = path.parent / "build"
        build_model_library(
            module,
            build,
            self.target_description,
            self.opt_level,
            self.signature,
            constants=self._constants,
        )
        shutil.copy(build / "libmodel.so", path)
        shutil.rmtree(build)


class VulkanModelExecutable(Executable):
    """Runs SPIR-V kernels on a Vulkan device (Adreno profile; lavapipe on a CPU)."""

    target = "vulkan-adreno"

    def __init__(self, inputs, outputs, stages, program):
        super().__init__(inputs, outputs, stages)
        self.program = program  # pattern_mlir.gpu.VulkanExecutable: .kernels, .last_timings

    def _run(self, inputs, outputs):
        for out, result in zip(outputs, self.program(*inputs)):
            out[...] = result
