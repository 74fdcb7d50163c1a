"""pattern-mlir on the host: the generated pattern conv of a layer, or a whole compiled model.

Layer: two variants. ``call`` is the public entry point (copies the input into the padded,
aligned buffer, then runs the kernel; the figure compared with dense peers, which pad
internally too), ``kernel`` runs the kernel alone on the already padded buffer.

Model: ``pattern_mlir.compile`` is two halves, the torch-mlir import (in a child process) and
``compile_str`` (stages + JIT); with ``--compile`` (the first round) this worker calls the two
halves itself, so the report can show the import apart, and the 2-thread build reuses the
1-thread build's import instead of importing VGG-16 a second time (the thread count only
matters from ``compile_str`` on). Times are wall clock and CPU time of this process plus its
children, which a loaded machine inflates far less. The executable is then kept
(``pattern_runnable``) for later rounds, which reload it instead of compiling again. The timed
call is the public ``exe(x)``: input checks, output allocation, the generated code.

Each kind imports only what it needs, so a layer's process never loads torch. Never import
torch_mlir here: a second LLVM in the process breaks the JIT.
"""

from __future__ import annotations

import time

import numpy as np

from ..timing import cpu_seconds
from ..worker import run_worker

_INFO: dict = {}
_IMPORTED: dict = {}


def layer_setup(data, threads, args):
    from pattern_mlir.backend.host_jit import PatternConvKernel
    from pattern_mlir.codegen import csr_nbytes, fkw_nbytes
    from pattern_mlir.tuning import layer_from_arrays, tune_alone

    layer = data.layer
    if args.tune and "tuned" not in _INFO:
        # The compiler's tuner (it times the layer as compile() builds it), then this kernel
        # runs the schedule it found.
        tune_layer = layer_from_arrays(
            data.weights,
            data.library,
            data.assignment,
            layer.height,
            layer.width,
            layer.stride,
            layer.padding,
            target=args.target,
        )
        result = tune_alone(tune_layer, budget_s=60.0)
        _INFO["tuned"], _INFO["tune_candidates"] = result.schedule, result.evaluations
    t0 = time.perf_counter()
    kern = PatternConvKernel(
        data.weights,
        data.library,
        data.assignment,
        data.bias,
        stride=layer.stride,
        padding=layer.padding,
        num_threads=threads,
        schedule=_INFO.get("tuned"),
        target=args.target,
        input_size=(layer.height, layer.width),
    )
    compile_s = time.perf_counter() - t0
    plan = kern.plan(layer.height, layer.width)
    _INFO.update(
        schedule=str(plan.schedule),
        compile_s=compile_s,
        fkw_bytes=fkw_nbytes(kern.packed),
        csr_bytes=csr_nbytes(kern.packed),
    )
    x = data.x
    out = np.empty((1, *plan.output_shape), dtype=np.float32)
    kern(x)  # fills the padded buffer that ``kernel`` then reuses

    def kernel_only():
        kern.run_padded(layer.height, layer.width, out)
        return out

    return {"call": lambda: kern(x), "kernel": kernel_only}


def _import(files, x):
    import torch
    from pattern_mlir.frontend.torch_import import import_torch
    from pattern_mlir.runtime.executable import ENTRY

    from .torch import load_projected

    if not _IMPORTED:
        model = load_projected(files)
        c0, t0 = cpu_seconds(), time.perf_counter()
        _IMPORTED["module"] = import_torch(model, (torch.from_numpy(x),), func_name=ENTRY)
        _IMPORTED["times"] = {"wall_s": time.perf_counter() - t0, "cpu_s": cpu_seconds() - c0}
        return _IMPORTED["module"], dict(_IMPORTED["times"])
    return _IMPORTED["module"], {"wall_s": 0.0, "cpu_s": 0.0, "reused": True}


def compile_host(files, x, threads: int, target: str = "host"):
    """(executable, times): the import (or the reused one) plus ``compile_str``."""
    import pattern_mlir

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


def model_setup(files, threads, args):
    from .pattern_runnable import load_runnable, save_runnable

    x = files.x
    for key in ("compile", "load_s"):  # a model's info holds both (the summary reads them)
        _INFO.setdefault(key, {})
    if args.compile:
        exe, _INFO["compile"][threads] = compile_host(files, x, threads, args.target)
        save_runnable(exe, files.exe_dir(threads))
    else:
        t0 = time.perf_counter()
        exe = load_runnable(files.exe_dir(threads))
        _INFO["load_s"][threads] = time.perf_counter() - t0
    return {"call": lambda: exe(x)}


def _as_array(y) -> np.ndarray:
    """A layer's kernel returns numpy, a model's executable a torch tensor."""
    return y.numpy() if hasattr(y, "numpy") else np.asarray(y)


def main() -> None:
    run_worker(
        "pattern",
        __doc__.splitlines()[0],
        layer=layer_setup,
        model=model_setup,
        as_array=_as_array,
        info=lambda: dict(_INFO),
    )


if __name__ == "__main__":
    main()
