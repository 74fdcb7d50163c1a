"""`pattern_mlir.compile`: PyTorch models or MLIR text to running executables."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import weakref
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
from mlir import ir

from ..runtime.allocator import small_pages
from ..runtime.call_signature import Signature
from ..runtime.executable import ENTRY, Arm64Executable, Executable
from ..target import Target, resolve_target, stamp_target
from .errors import CompileError
from .executable import HostExecutable, VulkanModelExecutable
from .isolation import Limits, StageWorker
from .options import CompileOptions, check_target


def compile_str(
    text: str,
    target: str = "host",
    options: CompileOptions | None = None,
    *,
    resources: Mapping[str, np.ndarray] | None = None,
) -> Executable:
    """Compiles MLIR text (linalg-on-tensors, with a func.func @forward) for `target`.

    `resources` gives the data of `dense_resource<name>` constants by name, for text whose
    dialect_resources section leaves them out (the torch import hands weights over so);
    every such constant must end up with data.
    """
    options = options or CompileOptions()
    check_target(target)
    return _compile_in_worker(
        StageWorker(), text, target, options, resources or {}, _reporter(options)
    )


def _reporter(options: CompileOptions):
    """`report(step)` printing each step and the time since the first to stderr, or None."""
    if not options.shows_progress:
        return None
    start = time.perf_counter()

    def report(step: str) -> None:
        print(
            f"pattern-mlir: {time.perf_counter() - start:6.1f} s  {step}",
            file=sys.stderr,
            flush=True,
        )

    return report


def _compile_in_worker(
    worker: StageWorker,
    text: str,
    target: str,
    options: CompileOptions,
    resources: Mapping[str, np.ndarray],
    report,
) -> Executable:
    """Runs the stages in `worker` (see isolation.py), then builds the executable here."""
    temps = Path(options.save_temps) if options.save_temps else None
    request = {
        "target": target,
        "temps": str(temps) if temps else None,
        "options": {
            "threads": options.threads,
            "patterns": options.patterns,
            "tuning_db": options.tuning_db_path,
        },
    }
    limits = Limits(options.timeout_s, options.memory_limit_bytes)
    with small_pages():
        result = worker.run(text, resources, request, limits, report)
    inputs, outputs = list(result.inputs), list(result.outputs)
    stages: dict[str, str] = {}  # filled once the worker has printed them, after codegen
    seconds = dict(result.seconds)
    context = ir.Context()
    with context, ir.Location.unknown():
        start = time.perf_counter()
        try:
            # From the file: bytecode needs its sections aligned, which a bytes object is not.
            module = ir.Module.parseFile(str(result.bytecode))
        except BaseException:
            worker.close()
            raise
        seconds["read"] = time.perf_counter() - start
        start = time.perf_counter()
        if report:
            report("codegen")
        try:
            exe = _executable(module, target, inputs, outputs, stages, options, temps)
            seconds["codegen"] = time.perf_counter() - start
            start = time.perf_counter()
            ordered = {**worker.stage_texts(), **stages}  # linalg ... llvm, then what codegen added
            stages.clear()
            stages.update(ordered)
            seconds["wait for stage texts"] = time.perf_counter() - start
        except RuntimeError as error:
            if isinstance(error, CompileError):
                raise
            raise CompileError("codegen", str(error)) from error
        finally:
            worker.close()
        exe.stage_seconds = seconds
        exe.compile_peak_rss = result.peak_rss
        if report:
            report("done")
        return exe


def _executable(module, target, inputs, outputs, stages, options, temps) -> Executable:
    description = resolve_target(target)
    if description.kind == "gpu":
        from ..gpu import executable_from_module  # the stages lowered it to SPIR-V

        return VulkanModelExecutable(
            inputs, outputs, stages, executable_from_module(module, entry=ENTRY)
        )
    if description.triple.startswith("x86_64"):
        return HostExecutable(
            inputs,
            outputs,
            stages,
            module=module,
            target=description,
            opt_level=options.opt_level,
            threads=options.threads,
        )
    return _build_arm64(
        module,
        inputs,
        outputs,
        stages,
        options,
        temps,
        replace(description, cpu=options.cpu, tune_cpu=options.cpu),
    )


def _build_arm64(
    module, inputs, outputs, stages, options, temps, target: Target
) -> Arm64Executable:
    if temps:
        return _arm64_in(temps, module, inputs, outputs, stages, options, target)
    # Without save_temps the build directory is the executable's: qemu loads the library
    # from it on every call, and it goes when the executable does (or the build fails).
    workdir = Path(tempfile.mkdtemp(prefix="pattern-mlir-arm64-"))
    try:
        exe = _arm64_in(workdir, module, inputs, outputs, stages, options, target)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    weakref.finalize(exe, shutil.rmtree, workdir, ignore_errors=True)
    return exe


def _arm64_in(
    workdir: Path, module, inputs, outputs, stages, options, target: Target
) -> Arm64Executable:
    from ..backend.library_build import build_model_library

    stamp_target(module.operation, target)
    signature = Signature(target.name, target.cpu, tuple(inputs), tuple(outputs))
    llvm_ir, artifacts = build_model_library(
        module.operation, workdir, target, options.opt_level, signature, asm=True
    )
    stages["llvm-ir"] = llvm_ir
    stages["asm"] = artifacts.asm_path.read_text()
    return Arm64Executable(
        inputs,
        outputs,
        stages,
        artifacts.so_path,
        workdir,
        cpu=target.cpu,
        opt_level=options.opt_level,
    )


def compile(
    model, example_inputs, target: str = "host", options: CompileOptions | None = None
) -> Executable:
    """Compiles a torch.nn.Module for `target` (a name of `pattern_mlir.target.TARGET_NAMES`:
    "host" (this CPU), "x86-64-v3" (AVX2), "x86-64-v4" (AVX-512), "arm64-neon", "vulkan-adreno").

    3x3 convolutions whose weights follow a pattern library (see
    `pattern_mlir.prune`) become specialised pattern kernels; everything else
    compiles through upstream linalg. Returns a callable Executable.
    """
    from ..frontend.torch_import import ImportError_, import_torch

    check_target(target)
    options = options or CompileOptions()
    if not isinstance(example_inputs, (tuple, list)):
        example_inputs = (example_inputs,)
    worker = StageWorker()  # starts now: its imports overlap the export below
    report = _reporter(options)
    if report:
        report("import from torch")
    try:
        imported = import_torch(model, tuple(example_inputs), func_name=ENTRY)
    except ImportError_ as error:
        worker.close()
        raise CompileError("import", str(error)) from error
    except BaseException:
        worker.close()
        raise
    return _compile_in_worker(worker, imported.text, target, options, imported.resources, report)
