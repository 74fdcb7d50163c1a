"""Kernel names, and from mapped parallel loops to named kernels in gpu.modules.

Each linalg op's location is tagged with a kernel name (``k<index>_<op>``,
``tag_linalg_ops``) before it becomes loops; the name survives into the outlined
kernel, the report and diagnostics. Why the extra steps around the upstream passes: ``gpu-kernel-outlining`` passes
every value defined above a ``gpu.launch`` as a kernel argument, and with the
Vulkan ABI each scalar argument costs a 4-byte storage buffer and a descriptor;
constants are therefore cloned into the launch body first. Outlined kernels are
then renamed after the op they came from (the ``k<i>_<op>`` location that
``bufferize.tag_linalg_ops`` set), and every ``gpu.module`` and kernel gets the
target environment and entry-point ABI that ``convert-gpu-to-spirv`` reads.
"""

from __future__ import annotations

import re

from mlir import ir
from mlir.passmanager import PassManager

from pattern_mlir.gpu.errors import GpuLoweringError
from pattern_mlir.passes.utils.constants import defining_op, scalar_constant
from pattern_mlir.passes.utils.conv_info import collect_ops

OUTLINE = "builtin.module(gpu-kernel-outlining,canonicalize,cse)"


def short_op_name(name: str) -> str:
    return name.split(".", 1)[-1].replace(".", "_")


def tag_linalg_ops(module, start: int = 0) -> int:
    """Give every linalg op a ``k<i>_<op>`` name location; return the next index."""
    index = start
    for func in collect_ops(module, "func.func"):
        for block in func.regions[0].blocks:
            for op in block.operations:
                op = op.operation
                if op.name.startswith("linalg."):
                    name = f"k{index}_{short_op_name(op.name)}"
                    op.location = ir.Location.name(name, childLoc=op.location)
                    index += 1
    return index


def _is_inside(op: ir.Operation, ancestor: ir.Operation) -> bool:
    """Whether ``op`` is nested (at any depth) in ``ancestor``."""
    current = op.operation
    while current is not None:
        if current == ancestor.operation:
            return True
        parent = current.parent
        current = parent.operation if parent is not None else None
    return False


def sink_constants(module: ir.Module) -> int:
    """Clone each constant used inside a gpu.launch into its body; return how many."""
    count = 0
    for launch in collect_ops(module, "gpu.launch"):
        entry = launch.regions[0].blocks[0]
        uses: dict = {}

        def visit(op, launch=launch, uses=uses):
            for i, value in enumerate(op.operands):
                producer = defining_op(value)
                if (
                    producer is not None
                    and producer.name == "arith.constant"
                    and not _is_inside(producer, launch)
                ):
                    uses.setdefault(producer, []).append((op, i))
            return ir.WalkResult.ADVANCE

        for op in entry.operations:
            op.operation.walk(visit)
        for producer, users in uses.items():
            clone = producer.clone(ip=ir.InsertionPoint.at_block_begin(entry))
            for user, i in users:
                user.operands[i] = clone.results[0]
            count += 1
    return count


def _kernel_name_from(location: str, fallback: str) -> str:
    match = re.search(r'loc\("(k\d+_[A-Za-z0-9_]+)"', location)
    return match.group(1) if match else fallback


def outline_and_name(module: ir.Module) -> None:
    """Outline gpu.launch bodies, then name modules and kernels after their source op."""
    sink_constants(module)
    try:
        PassManager.parse(OUTLINE).run(module.operation)
    except ir.MLIRError as exc:
        raise GpuLoweringError(f"kernel outlining failed: {exc}") from exc
    modules = {
        ir.StringAttr(m.attributes["sym_name"]).value: m for m in collect_ops(module, "gpu.module")
    }
    taken = set(modules)
    for launch in collect_ops(module, "gpu.launch_func"):
        ref = str(launch.attributes["kernel"])  # @module::@func
        mod_name, func_name = (part.lstrip("@") for part in ref.split("::"))
        new = _kernel_name_from(str(launch.location), mod_name)
        if new == mod_name:
            continue
        while new in taken:
            new += "_"
        taken.add(new)
        gpu_module = modules[mod_name]
        gpu_module.attributes["sym_name"] = ir.StringAttr.get(new)
        for func in collect_ops(gpu_module, "gpu.func"):
            if ir.StringAttr(func.attributes["sym_name"]).value == func_name:
                func.attributes["sym_name"] = ir.StringAttr.get(new)
        launch.attributes["kernel"] = ir.Attribute.parse(f"@{new}::@{new}")


def attach_target(module: ir.Module, target_env: str) -> None:
    """Set ``spirv.target_env`` on gpu.modules and ``spirv.entry_point_abi`` on kernels."""
    env = ir.Attribute.parse(target_env)
    for gpu_module in collect_ops(module, "gpu.module"):
        gpu_module.attributes["spirv.target_env"] = env
    funcs = {}
    for gpu_module in collect_ops(module, "gpu.module"):
        for func in collect_ops(gpu_module, "gpu.func"):
            funcs[
                (
                    ir.StringAttr(gpu_module.attributes["sym_name"]).value,
                    ir.StringAttr(func.attributes["sym_name"]).value,
                )
            ] = func
    for launch in collect_ops(module, "gpu.launch_func"):
        ref = str(launch.attributes["kernel"])
        func = funcs.get(tuple(part.lstrip("@") for part in ref.split("::")))
        if func is None or "spirv.entry_point_abi" in func.attributes:
            continue
        size = [scalar_constant(launch.operands[i]) for i in (3, 4, 5)]
        if None in size:
            raise GpuLoweringError(f"kernel {ref} has a non-constant workgroup size")
        func.attributes["spirv.entry_point_abi"] = ir.Attribute.parse(
            f"#spirv.entry_point_abi<workgroup_size = [{', '.join(map(str, size))}]>"
        )
