"""Static ARM64 estimate: each layer compiled by `compile(..., target="arm64-neon")`, its hot
loop in llvm-mca.

No phone here, and qemu timings mean nothing, so the ARM64 figure is llvm-mca's cycles for the
innermost fmla loop set against the FMA bound (two 128-bit FMAs per cycle on a Cortex-A76).
The code is what `compile()` ships for arm64-neon (`-mcpu=cortex-a76`); it is estimated on
``neoverse-n1`` (the A76-derived model, the one to trust) and ``cortex-a76`` (LLVM 22 gives it
the older A57 model, which halves 128-bit FMA throughput). Two kinds of layer:

* pattern: the benchmark's 3x3 layers (``layers.LAYERS``), pattern-pruned weights; the hot
  loop is the pattern conv's;
* dense: ResNet-50's 1x1 convs, the shapes the dense GEMM serves; the hot loop is the GEMM's;
* gemv: ResNet-50's classifier at batch 1 (each weight vector feeds one FMA).

Layers of one shape share one generated kernel and are analysed once.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pattern_mlir
import torch
from pattern_mlir.backend.mca import DEFAULT_MCA_CPUS, analyze_hot_loop
from pattern_mlir.codegen.schedule import default_schedule

from ..protocol import emit
from .layers import LAYERS, make_layer


@dataclass(frozen=True)
class DenseLayer:
    """A dense layer of the GEMM kind: a 1x1 conv (``height`` > 0) or a linear layer."""

    name: str
    in_features: int
    out_features: int
    height: int = 0

    def module(self) -> tuple[torch.nn.Module, torch.Tensor]:
        if self.height:
            model = torch.nn.Conv2d(self.in_features, self.out_features, 1)
            x = torch.randn(1, self.in_features, self.height, self.height)
        else:
            model = torch.nn.Linear(self.in_features, self.out_features)
            x = torch.randn(1, self.in_features)
        return model.eval(), x

    @property
    def kind(self) -> str:
        """ "dense" for a GEMM; "gemv" for a linear layer at batch 1, which loads each weight
        vector for one FMA: load-bound, so the FMA bound is not its yardstick."""
        return "dense" if self.height else "gemv"

    def shape_text(self) -> str:
        if self.height:
            return f"1x1 {self.in_features}->{self.out_features} {self.height}x{self.height}"
        return f"linear {self.in_features}->{self.out_features}"


DENSE_LAYERS = {
    layer.name: layer
    for layer in (
        DenseLayer("r50_1x1_64_256", 64, 256, 56),
        DenseLayer("r50_1x1_256_64", 256, 64, 56),
        DenseLayer("r50_1x1_256_128", 256, 128, 56),
        DenseLayer("r50_1x1_128_512", 128, 512, 28),
        DenseLayer("r50_1x1_512_128", 512, 128, 28),
        DenseLayer("r50_1x1_256_1024", 256, 1024, 14),
        DenseLayer("r50_1x1_1024_256", 1024, 256, 14),
        DenseLayer("r50_1x1_512_2048", 512, 2048, 7),
        DenseLayer("r50_1x1_2048_512", 2048, 512, 7),
        DenseLayer("r50_fc", 2048, 1000),
    )
}


def _pattern_model(
    name: str, patterns: int, connectivity: float
) -> tuple[torch.nn.Module, torch.Tensor]:
    data = make_layer(name, patterns, connectivity)
    layer = data.layer
    conv = torch.nn.Conv2d(layer.in_channels, layer.out_channels, 3, layer.stride, layer.padding)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(data.weights))
        conv.bias.copy_(torch.from_numpy(data.bias))
    return conv.eval(), torch.from_numpy(data.x)


def analyse(model: torch.nn.Module, x: torch.Tensor, kind: str) -> dict:
    exe = pattern_mlir.compile(
        model, x, target="arm64-neon", options=pattern_mlir.CompileOptions(num_threads=1)
    )
    analysis = analyze_hot_loop(exe.ir("asm"), cpus=DEFAULT_MCA_CPUS)
    result = analysis.as_dict()
    result.pop("body")
    result["kind"] = kind
    result["instructions"] = len(analysis.loop.instructions)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", default=",".join(n for n in LAYERS if n.startswith("vgg")))
    ap.add_argument("--dense", default=",".join(DENSE_LAYERS), help="dense layers ('' for none)")
    ap.add_argument("--patterns", type=int, default=8)
    ap.add_argument("--connectivity", type=float, default=3.6)
    args = ap.parse_args()
    torch.manual_seed(0)
    by_shape: dict[tuple, dict] = {}
    out = {"peer": "neon_mca", "layers": {}}
    for name in filter(None, args.layers.split(",")):
        layer = LAYERS[name]
        key = (
            "pattern",
            layer.in_channels,
            layer.out_channels,
            layer.height,
            layer.width,
            layer.stride,
        )
        if key not in by_shape:
            by_shape[key] = analyse(
                *_pattern_model(name, args.patterns, args.connectivity), "pattern"
            )
            # compile() runs the pattern conv with the target's default schedule (no tuning).
            ho, wo = layer.out_hw
            by_shape[key]["schedule"] = str(
                default_schedule(ho, wo, "arm64-neon", layer.in_channels, layer.stride)
            )
        out["layers"][name] = {**by_shape[key], "shape": layer.shape_text()}
    for name in filter(None, args.dense.split(",")):
        layer = DENSE_LAYERS[name]
        out["layers"][name] = {**analyse(*layer.module(), layer.kind), "shape": layer.shape_text()}
    emit(out)


if __name__ == "__main__":
    main()
