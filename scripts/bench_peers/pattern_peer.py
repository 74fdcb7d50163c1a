"""pattern-mlir's generated pattern conv, JIT-compiled for the host (AVX-512 here).

Two variants: ``call`` is the public entry point (copies the input into the padded, aligned
buffer, then runs the kernel; the figure compared with dense peers, which pad internally
too), ``kernel`` runs the kernel alone on the already padded buffer. Never import torch_mlir
here: a second LLVM in the process breaks the JIT.
"""

from __future__ import annotations

import time

import numpy as np
from pattern_mlir.codegen import csr_nbytes, fkw_nbytes
from pattern_mlir.runtime.host import PatternConvKernel
from pattern_mlir.tuning import layer_from_arrays, tune_alone

from .worker import run_worker

_INFO: dict = {}


def setup(data, threads, args):
    layer = data.layer
    if args.tune and "tuned" not in _INFO:
        # The compiler's tuner (it times the layer as compile() builds it), then this kernel
        # runs the schedule it found.
        tune_layer = layer_from_arrays(data.weights, data.library, data.assignment, layer.height, layer.width,
                                       layer.stride, layer.padding, target=args.target)
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


def main() -> None:
    run_worker("pattern", __doc__.splitlines()[0], setup, info=lambda: dict(_INFO))


if __name__ == "__main__":
    main()
