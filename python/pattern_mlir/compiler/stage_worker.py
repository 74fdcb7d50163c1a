"""Child process of `isolation`: runs the compiler's stages on one module.

MLIR's assertions are on in our wheels, and a pass can also loop or allocate without end on
input nobody tried; in the caller's process either would take the user's Python down with
it. So the stages run here: the parent hands over the linalg text and the weights as raw
arrays (`weight_files`), watches this process's memory and time, and turns a crash, a kill
or an error into one `CompileError` (see `isolation.py`).

Protocol (files in the request's `outdir`):
- `progress`: one line per step, written before the step starts ("stage <name>", "pass
  <pipeline element>"), so after a crash its last lines say what was running;
- `result.json`: the signature, per-stage seconds and stage names, or the error of a stage
  that failed cleanly (stage, message, reproducer path, command);
- `final.mlirbc`: the last stage's module as MLIR bytecode (weights as raw bytes);
- `stages/<name>.mlir`: each stage's IR for reading (large constants and integer lists
  elided), written after `result.json`, while the caller generates code.

With `stop_before` set (the parent's second run after a crash) the worker runs the stages
before that one, saves the full input of the failing stage as a reproducer, then runs that
stage one upstream pass at a time, so the progress file names the pass that crashes.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

from mlir import ir
from mlir.passmanager import PassManager

from ..frontend.weight_files import read_arrays
from .errors import CompileError
from .resources import attach, check_attached
from .signature import entry_signature, with_index_bounds
from .source_locations import describe_unparsable_op
from .stages import Stage, cpu_stages, gpu_stages, run_stage, split_pipeline, stage_text


class Progress:
    """Appends one line per step to a file; each line reaches the kernel before the step runs."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "a", buffering=1)  # noqa: SIM115  (open for the worker's life)

    def note(self, line: str) -> None:
        self._file.write(line.replace("\n", " ") + "\n")
        self._file.flush()


def stages_for(request: dict) -> list[Stage]:
    target, options = request["target"], request["options"]
    if target == "vulkan-adreno":
        from ..target import resolve_target

        device = ""
        if options["tuning_db"]:
            # Entries are keyed by the device they were measured on: the one this runs on.
            from ..runtime.vulkan import VulkanError, vulkan_device_name

            try:
                device = vulkan_device_name()
            except VulkanError as error:
                raise CompileError(
                    "tuned",
                    "tuning_db's GPU entries are keyed by the Vulkan device they were "
                    f"measured on, and that device cannot be opened: {error}",
                ) from error
        profile = resolve_target(target).spirv_profile
        return gpu_stages(options["patterns"], options["tuning_db"], profile, device)
    return cpu_stages(target, options["threads"], options["patterns"], options["tuning_db"])


def compile_module(request: dict, progress: Progress, snapshots: dict) -> dict:
    """Runs every stage and writes the final bytecode; returns result.json's data. Each stage's
    module is kept in `snapshots` (a clone, which is also the next stage's input for a
    failure report), to be printed once the caller has the result (`print_stages`)."""
    outdir = Path(request["outdir"])
    (outdir / "stages").mkdir(parents=True, exist_ok=True)
    temps = Path(request["temps"]) if request.get("temps") else None
    stop_before = request.get("stop_before")
    context = ir.Context()
    with context, ir.Location.unknown():
        progress.note("stage parse")
        text = Path(request["text_path"]).read_text()
        try:
            module = ir.Module.parse(text)
        except ir.MLIRError as error:
            raise CompileError(
                "parse", describe_unparsable_op(text, str(error)) or str(error)
            ) from error
        del text
        resources = (
            read_arrays(Path(request["resources_path"])) if request.get("resources_path") else {}
        )
        try:
            check_attached(module, attach(module, resources))
        except ValueError as error:
            raise CompileError("parse", str(error)) from error
        inputs, outputs = entry_signature(module)
        inputs = with_index_bounds(module, inputs)
        if request["target"] == "vulkan-adreno":
            named = [
                *(f"input {i}" for i in range(len(inputs))),
                *(f"result {i}" for i in range(len(outputs))),
            ]
            for what, spec in zip(named, [*inputs, *outputs]):
                if spec.dtype != "float32":
                    raise CompileError(
                        "import",
                        f"{what} of @forward is {spec.dtype}; the vulkan-adreno target "
                        "passes float32 tensors only",
                    )
        check_asserts(module)
        seconds, names = {}, ["linalg"]
        before = snapshots["linalg"] = module.operation.clone()
        for stage in stages_for(request):
            if stage.name == stop_before:
                _reproduce(stage, module, before, Path(request["reproducer"]), temps, progress)
                return {"reproduced": stage.name}
            progress.note(f"stage {stage.name}")
            start = time.perf_counter()
            run_stage(stage, module, temps, before=before)
            seconds[stage.name] = time.perf_counter() - start
            names.append(stage.name)
            if temps:
                temps.mkdir(parents=True, exist_ok=True)
                (temps / f"{stage.name}.mlir").write_text(str(module))
            before = snapshots[stage.name] = module.operation.clone()
        if request["target"] != "vulkan-adreno":
            check_lowered(module)
        progress.note("stage write")
        start = time.perf_counter()
        with open(outdir / "final.mlirbc", "wb") as out:
            module.operation.write_bytecode(out)
        seconds["write"] = time.perf_counter() - start
        return {
            "inputs": [s.to_json() for s in inputs],
            "outputs": [s.to_json() for s in outputs],
            "seconds": seconds,
            "stages": names,
        }


def check_asserts(module: ir.Module) -> None:
    """A `cf.assert` of a constant false is how torch-mlir marks a case it cannot lower: the
    code would abort the process that runs it. Refuse it now, naming the op."""
    failing = []

    def visit(op):
        if op.name == "cf.assert":
            condition = op.operands[0].owner
            if (
                isinstance(condition, (ir.Operation, ir.OpView))
                and condition.name == "arith.constant"
                and str(condition.attributes["value"]) == "false"
            ):
                failing.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    if failing:
        op = failing[0]
        raise CompileError(
            "import",
            f"the importer could not lower {op.location}: "
            f"{ir.StringAttr(op.attributes['msg']).value}",
        )


def check_lowered(module: ir.Module) -> None:
    """Every op left after the last CPU stage must be LLVM dialect: name the first that is not
    (an op some pass could not lower, e.g. a math function without an LLVM intrinsic) and
    where it came from, before the JIT or llc fail on it with less to say."""
    left = []

    def visit(op):
        name = op.name
        if not (name.startswith("llvm.") or name == "builtin.module"):
            left.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    if left:
        kinds = sorted({op.name for op in left})
        raise CompileError(
            "llvm",
            f"{len(left)} op(s) have no lowering to LLVM on this target "
            f"({', '.join(kinds)}); the first is '{left[0].name}' at {left[0].location}",
        )


def _reproduce(
    stage: Stage,
    module: ir.Module,
    before: ir.Operation,
    path: Path,
    temps: Path | None,
    progress: Progress,
) -> None:
    """Saves the stage's full input at `path`, then runs the stage again a step at a time
    (it is expected to crash; the progress file then names the step)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(before))
    progress.note(f"saved {path}")
    progress.note(f"stage {stage.name}")
    if stage.python_pass:
        run_stage(stage, module, temps, before=before)
        return
    for element in split_pipeline(stage.pipeline):
        progress.note(f"pass {element}")
        PassManager.parse(f"builtin.module({element})").run(module.operation)


def print_stages(snapshots: dict, directory: Path) -> None:
    """Each stage's IR for reading, written after the result: the caller generates code
    meanwhile, so on two cores the printing (megabytes of text for a ResNet) costs no time."""
    for name, module in snapshots.items():
        text = stage_text(module)
        (directory / f"{name}.mlir.part").write_text(text)
        os.replace(directory / f"{name}.mlir.part", directory / f"{name}.mlir")


def main() -> int:
    request = json.loads(sys.stdin.readline())
    outdir = Path(request["outdir"])
    progress = Progress(outdir / "progress")
    snapshots = {}
    try:
        result = compile_module(request, progress, snapshots)
    except CompileError as error:
        result = {
            "error": {
                "stage": error.stage,
                "message": error.message,
                "input_path": error.input_path,
                "command": error.command,
            }
        }
    except Exception as error:  # noqa: BLE001 - a Python bug in a pass is still a stage failure
        stage = _last_stage(outdir / "progress")
        detail = "".join(traceback.format_exception(error)[-6:])
        result = {
            "error": {"stage": stage, "message": f"internal error in the compiler:\n{detail}"}
        }
    # Written whole, then renamed: the caller acts on the file as soon as it appears.
    (outdir / "result.json.part").write_text(json.dumps(result))
    os.replace(outdir / "result.json.part", outdir / "result.json")
    if "error" not in result and "reproduced" not in result:
        progress.note("stage print")
        print_stages(snapshots, outdir / "stages")
    return 0


def _last_stage(path: Path) -> str:
    lines = [line for line in path.read_text().splitlines() if line.startswith("stage ")]
    return lines[-1].split(" ", 1)[1] if lines else "parse"


if __name__ == "__main__":
    sys.exit(main())
