"""Static ARM64 estimate: each layer's pattern conv built for arm64-neon, its hot loop in llvm-mca.

No phone here, and qemu timings mean nothing, so the ARM64 figure is llvm-mca's cycles for the
innermost fmla loop set against the FMA bound (two 128-bit FMAs per cycle on a Cortex-A76).
Compiled with ``-mcpu=cortex-a76``; estimated on ``neoverse-n1`` (the A76-derived model, the one
to trust) and ``cortex-a76`` (LLVM 22 gives it the older A57 model, which halves 128-bit FMA
throughput). Layers of one shape share one generated kernel and are analysed once.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from mlir import ir, passmanager
from pattern_mlir.codegen import ConvGeometry, emit_conv, plan_conv
from pattern_mlir.runtime.aarch64 import compile_aarch64
from pattern_mlir.runtime.host import LOWERING_PIPELINE
from pattern_mlir.runtime.llvm_ir import translate_to_llvm_ir
from pattern_mlir.runtime.mca import DEFAULT_MCA_CPUS, analyze_hot_loop

from .layers import LAYERS, make_layer
from .worker import RESULT_TAG


def _lower(text: str) -> str:
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        passmanager.PassManager.parse(LOWERING_PIPELINE).run(module.operation)
        return str(module)


def analyse(name: str, patterns: int, connectivity: float, workdir: Path) -> dict:
    data = make_layer(name, patterns, connectivity)
    layer = data.layer
    geometry = ConvGeometry.make(
        layer.in_channels,
        layer.out_channels,
        layer.height,
        layer.width,
        layer.stride,
        layer.padding,
    )
    plan = plan_conv(geometry, data.library, target="arm64-neon")
    llvm_ir = translate_to_llvm_ir(_lower(emit_conv(plan)))
    art = compile_aarch64(llvm_ir, workdir / name, cpu="cortex-a76", name=name)
    analysis = analyze_hot_loop(art.asm, function=plan.func_name, cpus=DEFAULT_MCA_CPUS)
    result = analysis.as_dict()
    result.pop("body")
    result["instructions"] = len(analysis.loop.instructions)
    result["schedule"] = str(plan.schedule)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", default=",".join(n for n in LAYERS if n.startswith("vgg")))
    ap.add_argument("--patterns", type=int, default=8)
    ap.add_argument("--connectivity", type=float, default=3.6)
    args = ap.parse_args()
    by_shape: dict[tuple, dict] = {}
    out = {"peer": "neon_mca", "layers": {}}
    with tempfile.TemporaryDirectory(prefix="bench_mca_") as tmp:
        for name in args.layers.split(","):
            layer = LAYERS[name]
            key = (layer.in_channels, layer.out_channels, layer.height, layer.width, layer.stride)
            if key not in by_shape:
                by_shape[key] = analyse(name, args.patterns, args.connectivity, Path(tmp))
            out["layers"][name] = by_shape[key]
    print(RESULT_TAG + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
