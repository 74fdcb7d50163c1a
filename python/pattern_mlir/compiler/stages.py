"""The compiler's stages: named steps, each one Python pass or one upstream pipeline.

Every stage can be replayed alone with `pattern-opt`, so a failing stage saves
its input and prints the exact command (see `run_stage`).
"""

from __future__ import annotations

import re
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlir import ir
from mlir.passmanager import PassManager

from .._mlir_libs import _patternDialects
from ..backend.llvm_lowering import to_llvm_pipeline
from ..passes.apply_tuning import ApplyTuning
from ..passes.copy_to_linalg import CopyToLinalg
from ..passes.distinct_results import DistinctResults
from ..passes.expand_math import ExpandMath
from ..passes.fold_constant_generics import FoldConstantGenerics
from ..passes.fuse_elementwise import FuseElementwise
from ..passes.inline_resources import InlineResources
from ..passes.lower_to_gpu import (
    GpuCheck,
    GpuConvKernels,
    GpuDenseConvs,
    GpuLinearize,
    GpuNameKernels,
    GpuNarrowInts,
    GpuOutline,
    GpuParallelFirst,
    GpuPrepare,
    GpuValidateSpirv,
)
from ..passes.lower_to_vector import LowerToVector
from ..passes.pack_fkw import PackFkw
from ..passes.raise_blocks import RaiseBlocks
from ..passes.raise_conv import RaiseConv
from ..passes.registry import ModulePass
from ..passes.reorder_filters import ReorderFilters
from ..passes.split_groups import SplitGroups
from ..passes.vectorize_dense import VectorizeDense
from ..passes.widen_bool_tensors import WidenBoolTensors
from .errors import CompileError
from .module_text import module_text

BUFFERIZE = (
    "builtin.module(func.func(linalg-generalize-named-ops),"
    "one-shot-bufferize{bufferize-function-boundaries=1 function-boundary-type-conversion=identity-layout-map},"
    # Folds the reshape views between a result's buffer and the return (a loop over the
    # flattened tensor returns expand_shape(collapse_shape(alloc))), so that the hoisting
    # below sees the allocation and writes into the caller's buffer instead of copying.
    # Canonicalize and CSE run per function (func.func(...)), so on functions in parallel:
    # at module level one worklist walked every op of every kernel on one thread.
    "func.func(canonicalize),"
    "buffer-results-to-out-params{hoist-static-allocs=1 modify-public-functions=1},"
    # buffer-deallocation-pipeline, written out for the nesting above (same passes, same
    # order, same output).
    "expand-realloc{emit-deallocs=0},func.func(canonicalize),"
    "ownership-based-buffer-deallocation,func.func(canonicalize),"
    "buffer-deallocation-simplification,bufferization-lower-deallocations,"
    "func.func(cse,canonicalize),"
    # Bufferization creates linalg.map fills; their loop lowering is wrong in
    # this release when they have no inputs, as generics they are correct.
    "func.func(linalg-generalize-named-ops))"
)
FOLD_NAME = "folded"


@dataclass(frozen=True)
class Stage:
    """One step: the IR after it is recorded under `name`."""

    name: str
    python_pass: ModulePass | None = None  # a Python pass with its options, or
    pipeline: str | None = None  # an upstream pass pipeline

    def command(self, input_path: str) -> str:
        if self.python_pass:
            return f"pattern-opt {shlex.quote(input_path)} {self.python_pass.flag()}"
        return f"pattern-opt {shlex.quote(input_path)} --pass-pipeline={shlex.quote(self.pipeline)}"


# Weight preparation torch-mlir leaves as linalg ops on constants (ConvTranspose2d's flipped
# kernel) is computed once here, so the passes after it see the weights as constants.
FOLD = Stage(FOLD_NAME, FoldConstantGenerics())
# Grouped convs as one conv per group, which the pattern and dense passes read.
GROUPS = Stage("groups", SplitGroups())


def gpu_stages(
    patterns: bool,
    tuning_db: str | None = None,
    profile: str = "adreno-640",
    tuning_device: str = "",
) -> list[Stage]:
    """Stages from linalg-on-tensors to SPIR-V for a GPU target: the shared front end
    (pattern ... packed), then the GPU lowering (`gpu_lowering_stages`)."""
    # Weights as dense constants: `dense_resource` blobs need 64-byte alignment when the caller
    # parses the final bytecode, which a small file read into the heap does not have.
    inlined = Stage("inlined", InlineResources())
    if not patterns:
        return [FOLD, GROUPS, inlined, *gpu_lowering_stages(profile)]
    stages = [FOLD, GROUPS, Stage("pattern", RaiseConv())]
    if tuning_db:
        # Workgroup tilings tuned on `tuning_device` (the Vulkan device the program runs on,
        # which the driver names: the pass never opens one), as #pattern.schedule.
        tuned = ApplyTuning(db=tuning_db, target="vulkan-adreno", cpu=tuning_device)
        stages.append(Stage("tuned", tuned))
    return stages + [
        Stage("reordered", ReorderFilters()),
        Stage("packed", PackFkw()),
        inlined,
        *gpu_lowering_stages(profile),
    ]


# Tensor clean-up before the kernels are formed: elementwise chains (BatchNorm + ReLU) fused
# into one generic, so into one kernel.
GPU_FUSE = (
    "builtin.module(canonicalize,cse,func.func(linalg-fuse-elementwise-ops),canonicalize,cse)"
)
GPU_BUFFERIZE = (
    "builtin.module(one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map "
    "unknown-type-conversion=identity-layout-map},canonicalize,cse,symbol-dce)"
)
# Every linalg op as an scf.parallel over its parallel dimensions (reductions as sequential
# loops inside: one invocation per output element); views folded into the loads and stores,
# so kernels see whole buffers only.
GPU_LOOPS = (
    "builtin.module(func.func(convert-linalg-to-parallel-loops),canonicalize,"
    "fold-memref-alias-ops,lower-affine,canonicalize,cse)"
)
GPU_MAP = (
    "builtin.module(func.func(gpu-map-parallel-loops,convert-parallel-loops-to-gpu),"
    "lower-affine,canonicalize)"
)
# The upstream GPU conversion leaves out the math patterns (math.sqrt of BatchNorm, exp), and
# has none for arith.floordivsi/ceildivsi (index arithmetic of reshapes): arith-expand writes
# them with the ops it has.
GPU_TO_SPIRV = (
    "builtin.module(gpu.module(arith-expand,convert-math-to-spirv),convert-gpu-to-spirv,"
    "spirv.module(spirv-lower-abi-attrs,spirv-update-vce))"
)


def gpu_lowering_stages(
    profile: str, *, dense_convs: bool = True, staged: bool | None = None, spirv: bool = True
) -> list[Stage]:
    """The GPU lowering after the shared front end: packed tensor-level module -> kernels in
    gpu.modules and a host function of launches -> SPIR-V modules (see passes/lower_to_gpu.py).

    `dense_convs=False` leaves dense and depthwise convs to the upstream path; `staged` forces
    the pattern kernels' variant; `spirv=False` stops before the conversion to SPIR-V."""
    stages = [
        Stage("prepared", GpuPrepare(profile=profile)),
        # erf (exact GELU) has no SPIR-V instruction, and fpowi (x ** 3 of tanh GELU)
        # carries an i64 exponent; exp and tanh have instructions of their own.
        Stage("math", ExpandMath(ops="erf,erfc,fpowi,ipowi")),
        Stage("fused", pipeline=GPU_FUSE),
    ]
    if dense_convs:
        stages.append(Stage("convs", GpuDenseConvs()))
    stages += [
        Stage("kernels", GpuConvKernels(profile=profile, staged=staged)),
        Stage("buffers", pipeline=GPU_BUFFERIZE),
        # Copies (from tensor.pad and insert_slice) as linalg.copy, so they become loops too.
        Stage("copies", CopyToLinalg()),
        Stage("parallel", GpuParallelFirst()),
        Stage("named", GpuNameKernels()),
        Stage("loops", pipeline=GPU_LOOPS),
        Stage("grid", GpuLinearize()),
        Stage("gpu", pipeline=GPU_MAP),
        Stage("outlined", GpuOutline(profile=profile)),
        Stage("narrowed", GpuNarrowInts(profile=profile)),
        Stage("checked", GpuCheck(profile=profile)),
    ]
    if spirv:
        stages += [
            Stage("spirv", pipeline=GPU_TO_SPIRV),
            Stage("validated", GpuValidateSpirv(profile=profile)),
        ]
    return stages


def cpu_stages(
    target: str, threads: int, patterns: bool, tuning_db: str | None = None
) -> list[Stage]:
    """Stages from linalg-on-tensors to the LLVM dialect for a CPU target."""
    stages = [FOLD, GROUPS]
    if patterns:
        stages.append(Stage("pattern", RaiseConv()))
        # Convs and matmuls pruned in blocks, among what the pattern raise left.
        stages.append(Stage("blocks", RaiseBlocks()))
        if tuning_db:
            # Tuned schedules land as #pattern.schedule attributes, visible in this stage's IR.
            stages.append(Stage("tuned", ApplyTuning(db=tuning_db, target=target, threads=threads)))
        stages += [
            Stage("reordered", ReorderFilters()),
            Stage("packed", PackFkw()),
            Stage("vector", LowerToVector(target=target, threads=threads)),
        ]
    stages += [
        # Elementwise chains as one generic each, after the pattern convs took their epilogues.
        Stage("fused", FuseElementwise()),
        # Dense convs, matmuls, pooling and elementwise ops -> vector code (on tensors).
        Stage("dense", VectorizeDense(target=target, threads=threads)),
        Stage("inlined", InlineResources()),
        # A tensor returned twice would need two output buffers at once (see the pass).
        Stage("results", DistinctResults()),
        # i1 tensors (comparisons) would bufferize to i1 memrefs, which LLVM cannot store.
        Stage("bools", WidenBoolTensors()),
        # erf and constant powers as arith code, before vector loops are unrolled.
        Stage("math", ExpandMath()),
        Stage("buffers", pipeline=BUFFERIZE),
        Stage("copies", CopyToLinalg()),
        Stage("llvm", pipeline=to_llvm_pipeline(threads)),
    ]
    return stages


ELIDE_OVER = 64  # elements of a constant or integer list printed in a stage's IR

# Integer lists in custom op syntax (`assignment [0, -1, ...]`) and dense arrays
# (`array<i32: ...>`): the printer elides only elements attributes, and a pattern conv's
# per-kernel assignment alone is O*I integers (megabytes of text for a ResNet).
_LONG_LIST = re.compile(rf"(\[|array<i\d+: )((?:-?\d+, ){{{ELIDE_OVER},}}-?\d+)(\]|>)")


def stage_text(module: ir.Module | ir.Operation) -> str:
    """The IR of a stage for reading: constants and integer lists over ELIDE_OVER elements are
    elided, blobs left out. For reading only: an elided list does not parse back."""
    if _holds_resources(module):
        text = module_text(module, large_elements_limit=ELIDE_OVER)
    else:
        # Without blobs the module prints in one go: op by op, each print sets up its own
        # printer state, which for a module of many globals (the GPU stages' FKW arrays)
        # took longer than running the stages.
        text = module.operation.get_asm(large_elements_limit=ELIDE_OVER, assume_verified=True)
    return _LONG_LIST.sub(
        lambda m: f"{m.group(1)}...{m.group(2).count(',') + 1} values elided...{m.group(3)}", text
    )


_DATA_ATTRIBUTE = {"arith.constant": "value", "memref.global": "initial_value"}


def _holds_resources(module) -> bool:
    """Whether a constant or global of `module` holds a `dense_resource` blob."""
    found = []

    def visit(op):
        key = _DATA_ATTRIBUTE.get(op.name)
        if (
            key
            and key in op.attributes
            and _patternDialects.dense_resource_bytes(op.attributes[key]) is not None
        ):
            found.append(op)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return bool(found)


def run_stage(stage: Stage, module: ir.Module, temps: Path | None, before: ir.Operation) -> None:
    """Runs one stage in place; on failure saves its input and raises CompileError.

    `before` is a clone of the input (the previous stage's result), printed as text only
    when the stage fails. A Python exception escaping a pass is a failure of the stage too
    (with its type named), not a traceback out of the compiler.
    """
    try:
        if stage.python_pass:
            stage.python_pass.apply(module.operation)
        else:
            PassManager.parse(stage.pipeline).run(module.operation)
        module.operation.verify()
    except Exception as error:  # noqa: BLE001 - MLIR diagnostics, and any Python error of a pass
        directory = temps or Path(tempfile.mkdtemp(prefix="pattern-mlir-repro-"))
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{stage.name}.input.mlir"
        path.write_text(str(before))
        message = (
            str(error)
            if isinstance(error, (ir.MLIRError, ValueError, RuntimeError))
            else f"{type(error).__name__} in the compiler: {error}"
        )
        raise CompileError(stage.name, message, str(path), stage.command(str(path))) from error


def split_pipeline(pipeline: str) -> list[str]:
    """The top-level elements of a `builtin.module(...)` pipeline, each runnable alone as
    `builtin.module(<element>)`: nested pipelines such as `func.func(a,b)` stay whole."""
    prefix = "builtin.module("
    if not (pipeline.startswith(prefix) and pipeline.endswith(")")):
        raise ValueError(f"not a builtin.module pipeline: {pipeline!r}")
    body, elements, depth, start = pipeline[len(prefix) : -1], [], 0, 0
    for index, char in enumerate(body):
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        elif char == "," and depth == 0:
            elements.append(body[start:index])
            start = index + 1
    elements.append(body[start:])
    return [e for e in elements if e]
