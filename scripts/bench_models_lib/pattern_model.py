"""pattern-mlir on the host: compile the projected model, then time the public ``exe(x)``.

``pattern_mlir.compile`` is two halves, the torch-mlir import (in a child process) and
``compile_str`` (stages + JIT); with ``--compile`` (the first round) this worker calls the two
halves itself, so the report can show the import apart, and the 2-thread build reuses the
1-thread build's import instead of importing VGG-16 a second time (the thread count only
matters from ``compile_str`` on). Times are wall clock and CPU time of this process plus its
children, which a loaded machine inflates far less. The executable is then kept (``runnable``)
for later rounds, which reload it instead of compiling again. The timed call is the public
``exe(x)``: input checks, output allocation, the generated code. Never import torch_mlir here:
a second LLVM in the process breaks the JIT.
"""

from __future__ import annotations

import resource
import time

import pattern_mlir
import torch
from pattern_mlir.compiler.torch_import import ImportedModule, import_torch
from pattern_mlir.runtime.executable import ENTRY

from .runnable import load_runnable, save_runnable
from .torch_model import load_projected
from .worker import run_model_worker

_INFO: dict = {"compile": {}, "load_s": {}}
_IMPORTED: dict = {}


def cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (the torch-mlir importer)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _import(files, x) -> tuple[ImportedModule, dict]:
    if not _IMPORTED:
        model = load_projected(files)
        c0, t0 = cpu_seconds(), time.perf_counter()
        _IMPORTED["module"] = import_torch(model, (torch.from_numpy(x),), func_name=ENTRY)
        _IMPORTED["times"] = {"wall_s": time.perf_counter() - t0, "cpu_s": cpu_seconds() - c0}
        return _IMPORTED["module"], dict(_IMPORTED["times"])
    return _IMPORTED["module"], {"wall_s": 0.0, "cpu_s": 0.0, "reused": True}


def compile_host(files, x, threads: int, target: str = "host"):
    """(executable, times): the import (or the reused one) plus ``compile_str``."""
    module, imported = _import(files, x)
    options = pattern_mlir.CompileOptions(num_threads=threads)
    c0, t0 = cpu_seconds(), time.perf_counter()
    exe = pattern_mlir.compile_str(module.text, target, options, resources=module.resources)
    times = {
        "import_wall_s": imported["wall_s"],
        "import_cpu_s": imported["cpu_s"],
        "import_reused": imported.get("reused", False),
        "compile_str_wall_s": time.perf_counter() - t0,
        "compile_str_cpu_s": cpu_seconds() - c0,
        "stages": dict(exe.stage_seconds),
    }
    times["wall_s"] = times["import_wall_s"] + times["compile_str_wall_s"]
    times["cpu_s"] = times["import_cpu_s"] + times["compile_str_cpu_s"]
    return exe, times


def setup(files, x, threads, args):
    if args.compile:
        exe, _INFO["compile"][threads] = compile_host(files, x, threads, args.target)
        save_runnable(exe, files.exe_dir(threads))
    else:
        t0 = time.perf_counter()
        exe = load_runnable(files.exe_dir(threads))
        _INFO["load_s"][threads] = time.perf_counter() - t0
    return {"call": lambda: exe(x)}


def main() -> None:
    run_model_worker(
        "pattern",
        __doc__.splitlines()[0],
        setup,
        as_array=lambda y: y.numpy(),
        info=lambda: dict(_INFO),
    )


if __name__ == "__main__":
    main()
