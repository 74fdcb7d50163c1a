"""IREE (llvm-cpu), dense, compiled from the prepared ONNX export.

``iree-import-onnx`` then ``iree-compile`` for this CPU, once per prepared model (cached next
to it, written atomically). Flags: the fastest of three configurations tried on ResNet-50 at one
thread (IREE 3.13): the defaults, ``--iree-opt-level=O3 --iree-opt-data-tiling
--iree-llvmcpu-enable-ukernels=all``, and those plus ``--iree-global-opt-use-im2col-for-convs``
(IREE's convs are slow without im2col), so the peer is IREE at its best. One thread runs on the ``local-sync`` driver, more on ``local-task`` with that many
workers. Timed: the module's function on the host input, the result copied back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import iree.runtime as rt
import numpy as np

from ..worker import run_worker

COMPILE_FLAGS = (
    "--iree-hal-target-device=local",
    "--iree-hal-local-target-device-backends=llvm-cpu",
    "--iree-llvmcpu-target-cpu=host",
    "--iree-opt-level=O3",
    "--iree-opt-data-tiling",
    "--iree-llvmcpu-enable-ukernels=all",
    "--iree-global-opt-use-im2col-for-convs",
)

_KEEP: list = []  # the context and its config must live as long as the timed function


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def compile_vmfb(files) -> Path:
    vmfb = files.root / "model.iree.vmfb"
    if vmfb.exists():
        return vmfb
    mlir = files.root / f"model.iree.{os.getpid()}.mlir"
    tmp = vmfb.with_suffix(f".{os.getpid()}.tmp")
    subprocess.run([_tool("iree-import-onnx"), str(files.onnx), "-o", str(mlir)], check=True)
    subprocess.run([_tool("iree-compile"), str(mlir), *COMPILE_FLAGS, "-o", str(tmp)], check=True)
    mlir.unlink()
    tmp.replace(vmfb)
    return vmfb


def model_setup(files, threads, args):
    vmfb = compile_vmfb(files)
    if threads > 1:
        rt.flags.parse_flags(f"--task_topology_max_group_count={threads}")
    config = rt.Config(driver_name="local-task" if threads > 1 else "local-sync")
    context = rt.SystemContext(config=config)
    context.add_vm_module(rt.VmModule.mmap(context.instance, str(vmfb)))
    function = context.modules.module.main_graph
    _KEEP[:] = [config, context]
    x = np.ascontiguousarray(files.x)
    return {"run": lambda: function(x).to_host()}


def main() -> None:
    from importlib.metadata import version

    run_worker(
        "iree",
        __doc__.splitlines()[0],
        model=model_setup,
        info=lambda: {"version": version("iree-base-runtime")},
    )


if __name__ == "__main__":
    main()
