"""`pattern_mlir.compile`: PyTorch models or MLIR text to running executables."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from mlir import ir

from .errors import CompileError
from .executable import (
    ENTRY,
    FORMAT_VERSION,
    Arm64Executable,
    Executable,
    HostExecutable,
    HostLibraryExecutable,
    TensorSpec,
    VulkanModelExecutable,
)
from ..runtime.allocator import small_pages
from .options import CompileOptions, check_target
from .resources import attach, check_attached
from .stages import StageTexts, cpu_stages, gpu_stages, run_stage


def _signature(module: ir.Module) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Input and output specs of @forward; rejects what the runtime cannot call."""
    functions = [op for op in module.body.operations if op.operation.name == "func.func"]
    entry = next((f for f in functions if f.attributes["sym_name"].value == ENTRY), None)
    if entry is None:
        raise CompileError("import", f"the module has no function @{ENTRY}")
    ftype = entry.attributes["function_type"].value

    def spec(type_, what: str) -> TensorSpec:
        if not isinstance(type_, ir.RankedTensorType) or not type_.has_static_shape:
            raise CompileError("import", f"{what} of @{ENTRY} has type {type_}; only static shapes are supported")
        if str(type_.element_type) != "f32":
            raise CompileError("import", f"{what} of @{ENTRY} has element type {type_.element_type}; only f32 is supported")
        return TensorSpec(tuple(type_.shape))

    return ([spec(t, f"input {i}") for i, t in enumerate(ftype.inputs)],
            [spec(t, f"result {i}") for i, t in enumerate(ftype.results)])


def compile_str(text: str, target: str = "host", options: CompileOptions | None = None, *,
                resources: Mapping[str, np.ndarray] | None = None) -> Executable:
    """Compiles MLIR text (linalg-on-tensors, with a func.func @forward) for `target`.

    `resources` gives the data of `dense_resource<name>` constants by name, for text whose
    dialect_resources section leaves them out (the torch import hands weights over so);
    every such constant must end up with data.
    """
    options = options or CompileOptions()
    check_target(target)
    temps = Path(options.save_temps) if options.save_temps else None
    with small_pages():
        stages, module, signature, seconds = _run_stages(text, target, options, resources, temps)
    inputs, outputs = signature
    with module.context, ir.Location.unknown():
        start = time.perf_counter()
        if target == "vulkan-adreno":
            from ..gpu import compile_for_vulkan  # SPIR-V kernels plus a host plan

            exe = VulkanModelExecutable(inputs, outputs, stages, compile_for_vulkan(str(module), entry=ENTRY))
        elif target == "host":
            exe = HostExecutable(inputs, outputs, stages, module=module,
                                 opt_level=options.opt_level, threads=options.threads)
        else:
            exe = _build_arm64(module, inputs, outputs, stages, options, temps)
        seconds["codegen"] = time.perf_counter() - start
        exe.stage_seconds = seconds
        return exe


def _run_stages(text: str, target: str, options: CompileOptions, resources, temps: Path | None):
    """Parses `text` and runs every stage of `target` on it: (stage texts, module, signature, seconds)."""
    context = ir.Context()
    with context, ir.Location.unknown():
        try:
            module = ir.Module.parse(text)
        except ir.MLIRError as error:
            raise CompileError("parse", str(error)) from error
        try:
            check_attached(module, attach(module, resources or {}))
        except ValueError as error:
            raise CompileError("parse", str(error)) from error
        stages = StageTexts()
        stages.snapshot("linalg", module)
        inputs, outputs = _signature(module)
        seconds = {}
        gpu = target == "vulkan-adreno"
        for stage in (gpu_stages(options.patterns, options.tuning_db_path) if gpu else
                      cpu_stages(target, options.threads, options.patterns, options.tuning_db_path)):
            start = time.perf_counter()
            run_stage(stage, module, temps, before=stages.latest)
            seconds[stage.name] = time.perf_counter() - start
            stages.snapshot(stage.name, module)
            if temps:
                temps.mkdir(parents=True, exist_ok=True)
                (temps / f"{stage.name}.mlir").write_text(str(module))
        return stages, module, (inputs, outputs), seconds


def _build_arm64(module, inputs, outputs, stages, options, temps) -> Arm64Executable:
    from ..runtime.aarch64 import TRIPLE
    from ..runtime.shared_library import LibraryTarget
    from .library_build import build_model_library

    workdir = temps or Path(tempfile.mkdtemp(prefix="pattern-mlir-arm64-"))
    target = LibraryTarget(TRIPLE, options.cpu, "+neon", "aarch64-linux-gnu-gcc")
    llvm_ir, artifacts = build_model_library(module.operation, workdir, target, options.opt_level,
                                             asm=True)
    stages["llvm-ir"] = llvm_ir
    stages["asm"] = artifacts.asm_path.read_text()
    return Arm64Executable(inputs, outputs, stages, artifacts.so_path, workdir)


def compile(model, example_inputs, target: str = "host", options: CompileOptions | None = None) -> Executable:
    """Compiles a torch.nn.Module for `target` ("host", "arm64-neon", "vulkan-adreno").

    3x3 convolutions whose weights follow a pattern library (see
    `pattern_mlir.prune`) become specialised pattern kernels; everything else
    compiles through upstream linalg. Returns a callable Executable.
    """
    from .torch_import import ImportError_, import_torch

    check_target(target)
    if not isinstance(example_inputs, (tuple, list)):
        example_inputs = (example_inputs,)
    try:
        imported = import_torch(model, tuple(example_inputs), func_name=ENTRY)
    except ImportError_ as error:
        raise CompileError("import", str(error)) from error
    return compile_str(imported.text, target, options, resources=imported.resources)


def load(path: str | Path) -> Executable:
    """Loads an executable written by `Executable.save`, checking its format version."""
    directory = Path(path)
    manifest = json.loads((directory / "manifest.json").read_text())
    if manifest.get("format") != FORMAT_VERSION:
        raise ValueError(f"{directory} holds format {manifest.get('format')}, this pattern-mlir reads {FORMAT_VERSION}")
    inputs = [TensorSpec.from_json(s) for s in manifest["inputs"]]
    outputs = [TensorSpec.from_json(s) for s in manifest["outputs"]]
    stages = {name: (directory / f"{name}.mlir").read_text() for name in manifest["stages"]}
    if manifest["target"] == "host":
        host = json.loads((directory / "host.json").read_text())
        return HostLibraryExecutable(inputs, outputs, stages, directory / "libmodel.so", **host)
    if manifest["target"] == "arm64-neon":
        return Arm64Executable(inputs, outputs, stages, directory / "libmodel.so", directory)
    raise ValueError(f"cannot load target {manifest['target']!r}")
