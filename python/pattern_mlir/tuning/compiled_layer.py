"""One layer compiled as `compile()` compiles it, for the tuner to time.

The tuner must time the code that ships: a candidate schedule is written onto a
`pattern.conv2d` as its `#pattern.schedule`, and the module runs through the compiler's own
CPU stages (`compiler/stages.cpu_stages`, from filter reorder to the LLVM dialect) into the
compiler's own executable (`HostExecutable`: the same JIT settings, target stamping and,
above one thread, the same async runtime). A call is the whole compiled call: the input's
padding copy, the kernel and its threads.

The stages run in this process, not in compile()'s isolated worker: the module is built
here from a layer that already passed the compiler's checks, and a tuner compiles dozens of
candidates, where a process per candidate would cost more than the candidate.
"""

from __future__ import annotations

import numpy as np

from ..codegen.fkw import unpack_assignment
from ..codegen.schedule import Schedule
from .layers import TuneLayer

__all__ = ["CompiledLayer"]


def _weights_with_structure(layer: TuneLayer) -> np.ndarray:
    """OIHW weights with the layer's kept taps and no zero among them.

    Only the structure (library, which kernels are kept) sets a kernel's speed; a kept tap
    whose weight happens to be 0 would make the raised op drop its kernel, so kept taps get
    values away from zero instead of the layer's own."""
    packed = layer.packed
    assignment = unpack_assignment(packed)
    library = np.asarray(packed.library, bool)
    kept = np.zeros((*assignment.shape, *library.shape[1:]), bool)
    rows, cols = np.nonzero(assignment >= 0)
    kept[rows, cols] = library[assignment[rows, cols]]
    rng = np.random.default_rng(0)
    values = rng.uniform(0.5, 1.5, kept.shape).astype(np.float32)
    return np.where(kept, values, np.float32(0))


class CompiledLayer:
    """`layer` with `schedule`, compiled for the layer's target; `run()` times one call."""

    def __init__(self, layer: TuneLayer, schedule: Schedule, threads: int = 1) -> None:
        from mlir import ir
        from mlir.dialects import func

        from ..compiler.executable import HostExecutable
        from ..compiler.stages import cpu_stages, run_stage
        from ..dialects.builders import build_conv2d
        from ..passes.apply_tuning import schedule_attr
        from ..runtime.call_signature import TensorSpec
        from ..target import resolve_target

        sig = layer.signature
        self.target = resolve_target(sig.target)
        in_shape = (1, sig.in_channels, sig.height, sig.width)
        out_shape = (1, sig.out_channels, sig.out_height, sig.out_width)
        self.context = ir.Context()
        with self.context, ir.Location.unknown():
            module = ir.Module.create()
            f32 = ir.F32Type.get()
            with ir.InsertionPoint(module.body):
                fn = func.FuncOp(
                    "forward",
                    ir.FunctionType.get(
                        [ir.RankedTensorType.get(in_shape, f32)],
                        [ir.RankedTensorType.get(out_shape, f32)],
                    ),
                )
                with ir.InsertionPoint(fn.add_entry_block()):
                    bias = np.linspace(-1, 1, sig.out_channels, dtype=np.float32)
                    result = build_conv2d(
                        fn.arguments[0],
                        _weights_with_structure(layer),
                        layer.packed.library,
                        bias=bias,
                        stride=list(sig.stride),
                        padding=list(sig.padding),
                        dilation=list(sig.dilation),
                    )
                    result.owner.attributes["schedule"] = schedule_attr(schedule)
                    func.ReturnOp([result])
            stages = cpu_stages(self.target.name, threads, patterns=True)
            for stage in [s for s in stages if s.name != "pattern"]:  # already a pattern conv
                run_stage(stage, module, None, before=module.operation)
            self.executable = HostExecutable(
                [TensorSpec(in_shape)],
                [TensorSpec(out_shape)],
                {},
                module=module,
                target=self.target,
                threads=threads,
            )
        rng = np.random.default_rng(1)
        self._inputs = [rng.standard_normal(in_shape).astype(np.float32)]
        self._outputs = [np.empty(out_shape, np.float32)]

    def run(self) -> np.ndarray:
        """One call of the compiled function (its output buffer is reused between calls)."""
        self.executable._run(self._inputs, self._outputs)
        return self._outputs[0]
