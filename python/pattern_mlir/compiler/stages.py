"""The compiler's stages: named steps, each one Python pass or one upstream pipeline.

Every stage can be replayed alone with `pattern-opt`, so a failing stage saves
its input and prints the exact command (see `run_stage`).
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from mlir import ir
from mlir.passmanager import PassManager

from ..passes.registry import lookup
from .errors import CompileError
from .module_text import module_text

BUFFERIZE = (
    "builtin.module(func.func(linalg-generalize-named-ops),"
    "one-shot-bufferize{bufferize-function-boundaries=1 function-boundary-type-conversion=identity-layout-map},"
    "buffer-results-to-out-params{hoist-static-allocs=1 modify-public-functions=1},"
    "buffer-deallocation-pipeline,"
    # Bufferization creates linalg.map fills; their loop lowering is wrong in
    # this release when they have no inputs, as generics they are correct.
    "func.func(linalg-generalize-named-ops))"
)
# min-task-size=1: every filter group is its own task. The default (1000 iterations per
# task) kept the thread-group loops, which have one iteration per group, in one task: no
# model ran on more than one thread.
ASYNC = (
    "async-parallel-for{min-task-size=1},async-to-async-runtime,async-runtime-ref-counting,"
    "async-runtime-ref-counting-opt,convert-async-to-llvm,"
)
TO_LLVM = (
    "builtin.module(func.func(convert-linalg-to-loops),func.func(llvm-request-c-wrappers),{async}"
    # pattern-vectorize-dense leaves rank-1 transfers and vector.fma; n-D transfers
    # it could not lower become loops of rank-1 ones here, masks become selects.
    "func.func(convert-vector-to-scf{full-unroll=1 target-rank=1},lower-vector-mask),"
    "convert-scf-to-cf,convert-vector-to-llvm,expand-strided-metadata,lower-affine,"
    "finalize-memref-to-llvm,convert-math-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
    "convert-ub-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)"
)


@dataclass(frozen=True)
class Stage:
    """One step: the IR after it is recorded under `name`."""

    name: str
    python_pass: str | None = None  # a registered Python pass, or
    pipeline: str | None = None  # an upstream pass pipeline
    options: tuple[tuple[str, str], ...] = ()

    def command(self, input_path: str) -> str:
        if self.python_pass:
            opts = " ".join(f"{k}={v}" for k, v in self.options)
            flag = f"--{self.python_pass}" + (f"={shlex.quote(opts)}" if opts else "")
            return f"pattern-opt {shlex.quote(input_path)} {flag}"
        return f"pattern-opt {shlex.quote(input_path)} --pass-pipeline={shlex.quote(self.pipeline)}"


def gpu_stages(patterns: bool, tuning_db: str | None = None) -> list[Stage]:
    """Stages before the GPU path (pattern_mlir.gpu), which lowers the packed module itself."""
    if not patterns:
        return []
    stages = [Stage("pattern", python_pass="pattern-raise-conv")]
    if tuning_db:
        # Workgroup tilings tuned on the default Vulkan device, as #pattern.schedule.
        stages.append(Stage("tuned", python_pass="pattern-apply-tuning",
                            options=(("db", tuning_db), ("target", "vulkan-adreno"))))
    return stages + [Stage("reordered", python_pass="pattern-reorder-filters"),
                     Stage("packed", python_pass="pattern-pack-fkw")]


def cpu_stages(target: str, threads: int, patterns: bool, tuning_db: str | None = None) -> list[Stage]:
    """Stages from linalg-on-tensors to the LLVM dialect for a CPU target."""
    stages = []
    if patterns:
        stages.append(Stage("pattern", python_pass="pattern-raise-conv"))
        if tuning_db:
            # Tuned schedules land as #pattern.schedule attributes, visible in this stage's IR.
            stages.append(Stage("tuned", python_pass="pattern-apply-tuning",
                                options=(("db", tuning_db), ("target", target),
                                         ("threads", str(threads)))))
        stages += [
            Stage("reordered", python_pass="pattern-reorder-filters"),
            Stage("packed", python_pass="pattern-pack-fkw"),
            Stage("vector", python_pass="pattern-lower-to-vector",
                  options=(("target", target), ("threads", str(threads)))),
        ]
    stages += [
        # Dense convs, matmuls, pooling and elementwise ops -> vector code (on tensors).
        Stage("dense", python_pass="pattern-vectorize-dense",
              options=(("target", target), ("threads", str(threads)))),
        Stage("inlined", python_pass="pattern-inline-resources"),
        Stage("buffers", pipeline=BUFFERIZE),
        Stage("copies", python_pass="pattern-copy-to-linalg"),
        Stage("llvm", pipeline=TO_LLVM.replace("{async}", ASYNC if threads > 1 else "")),
    ]
    return stages


def stage_text(module: ir.Module | ir.Operation) -> str:
    """The IR of a stage for reading: constants over 64 elements are elided, blobs left out."""
    return module_text(module, large_elements_limit=64)


class StageTexts(Mapping[str, str]):
    """Each stage's IR by name, printed when first read.

    A stage is kept as a clone of the module (its ops; the weights are attributes the clone
    shares), which is also the next stage's input for a failure report. Printing every stage
    up front took 2-3 s of VGG-16's compile, for text most callers never read. Stages that
    are text already (LLVM IR, assembly) are set as strings.
    """

    def __init__(self) -> None:
        self._entries: dict[str, ir.Operation | str] = {}
        self.latest: ir.Operation | None = None

    def snapshot(self, name: str, module: ir.Module) -> None:
        self.latest = self._entries[name] = module.operation.clone()

    def __setitem__(self, name: str, text: str) -> None:
        self._entries[name] = text

    def __getitem__(self, name: str) -> str:
        entry = self._entries[name]
        if not isinstance(entry, str):
            entry = self._entries[name] = stage_text(entry)
        return entry

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def run_stage(stage: Stage, module: ir.Module, temps: Path | None, before: ir.Operation) -> None:
    """Runs one stage in place; on failure saves its input and raises CompileError.

    `before` is a clone of the input (the previous stage's snapshot, `StageTexts.latest`),
    printed as text only when the stage fails.
    """
    try:
        if stage.python_pass:
            lookup(stage.python_pass).run(module.operation, dict(stage.options))
        else:
            PassManager.parse(stage.pipeline).run(module.operation)
        module.operation.verify()
    except (ir.MLIRError, ValueError, RuntimeError) as error:
        directory = temps or Path(tempfile.mkdtemp(prefix="pattern-mlir-repro-"))
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{stage.name}.input.mlir"
        path.write_text(str(before))
        raise CompileError(stage.name, str(error), str(path), stage.command(str(path))) from error
