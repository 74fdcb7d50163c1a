"""`pattern-mlir`: compile, run, benchmark and prune models from the command line.

MODEL arguments name a model of the zoo (`pattern-mlir models` lists them) or an
.mlir file holding a linalg-on-tensors func.func @forward.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .timing import median_ms


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _shape(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated ints like 1,3,224,224, got {text!r}"
        ) from None


def _zoo_model(args, calibrate: bool = False):
    """(model, example input) of a zoo name, projected onto patterns unless --dense;
    `calibrate` then sets BatchNorm statistics from the model's own activations
    (`models.init.calibrate_batchnorm`, for numerics checks)."""
    from . import models, prune

    if args.model.endswith(".mlir"):
        raise ValueError(
            f"{args.command} needs a zoo model (a torch module), not {args.model}; "
            "see `pattern-mlir models`"
        )

    model, x = models.build(args.model, input_shape=args.input_shape, small=args.small)
    if not args.dense:
        _log(
            f"projecting {args.model}'s 3x3 convs: {args.patterns} patterns, connectivity {args.connectivity}"
        )
        prune.project(model, num_patterns=args.patterns, connectivity=args.connectivity)
    if calibrate:
        from .models.init import calibrate_batchnorm

        calibrate_batchnorm(model, x)
    return model, x


def _compile(args, calibrate: bool = False):
    import pattern_mlir

    options = pattern_mlir.CompileOptions(
        num_threads=args.threads,
        save_temps=args.save_temps,
        patterns=not args.dense,
        tuning_db=getattr(args, "tuning_db", None),
    )
    start = time.perf_counter()
    if args.model.endswith(".mlir"):
        _log(f"compiling {args.model} for {args.target}")
        exe = pattern_mlir.compile_str(Path(args.model).read_text(), args.target, options)
        model = x = None
    else:
        model, x = _zoo_model(args, calibrate)
        _log(f"compiling {args.model} {tuple(x.shape)} for {args.target}")
        exe = pattern_mlir.compile(model, x, args.target, options)
    stages = ", ".join(f"{name} {sec:.1f}" for name, sec in exe.stage_seconds.items())
    _log(f"compiled in {time.perf_counter() - start:.1f} s (stages, s: {stages})")
    return exe, model, x


def cmd_compile(args) -> int:
    exe, _, _ = _compile(args)
    if args.print_ir:
        print(exe.ir(args.print_ir))
    if args.output:
        _log(f"saved to {exe.save(args.output)}")
    return 0


def cmd_models(args) -> int:
    from .models import MODELS

    for info in MODELS.values():
        shape = "x".join(map(str, info.input_shape))
        small = "x".join(map(str, info.small_shape))
        print(f"{info.name:18} {shape:>12}  (--small {small})  {info.description}")
    return 0


def cmd_run(args) -> int:
    import pattern_mlir

    exe = pattern_mlir.load(args.executable)
    x = (
        np.load(args.input)
        if args.input
        else np.random.default_rng(0).random(exe.inputs[0].shape, np.float32)
    )
    y = exe(np.ascontiguousarray(x, dtype=np.float32))
    print(f"output shape {tuple(y.shape)}, min {float(y.min()):.6g}, max {float(y.max()):.6g}")
    if args.output:
        np.save(args.output, y.numpy())
    return 0


def cmd_bench(args) -> int:
    import torch

    if args.model.endswith(".mlir"):
        raise ValueError(f"bench needs a zoo model (torch is the reference), not {args.model}")
    # BatchNorm statistics of the model's own activations: otherwise a random pruned model's
    # output barely depends on its input, and any output would pass the check.
    exe, model, x = _compile(args, calibrate=True)
    torch.set_num_threads(args.threads or torch.get_num_threads())
    other = torch.rand(x.shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        reference, other_reference = model(x), model(other)
        torch_ms = median_ms(model, x, args.runs)
    ms = median_ms(exe, x, args.runs)
    error, spread = output_error(exe, (x, other), (reference, other_reference))
    print(
        f"{args.model}: pattern-mlir {ms:.3f} ms, torch {torch_ms:.3f} ms, "
        f"{torch_ms / ms:.2f}x; error {error:.2e} of how much the output changes between two "
        f"inputs (a change of {spread:.2e} of the output's size; median of {args.runs} runs)"
    )
    if spread < 1e-3:
        _log(
            f"warning: {args.model}'s output changes by only {spread:.1e} of its size between two "
            "inputs: the error figure says little"
        )
    return 0


def output_error(exe, inputs, references) -> tuple[float, float]:
    """(error, spread): the largest difference from torch over `inputs`, relative to the largest
    change of torch's output between the first two inputs; and that change relative to the
    output's size. An error relative to the output alone cannot fail where the output hardly
    depends on the input."""
    change = float((references[0] - references[1]).abs().max())
    size = max(float(r.abs().max()) for r in references)
    worst = max(float((exe(x) - r).abs().max()) for x, r in zip(inputs, references))
    return worst / max(change, 1e-30), change / max(size, 1e-30)


def cmd_prune(args) -> int:
    from . import prune

    model, _ = _zoo_model(args)
    prune.save(
        args.output,
        model,
        prune.spec_from_weights(model)
        if args.dense
        else prune.project(model, num_patterns=args.patterns, connectivity=args.connectivity),
    )
    _log(f"saved weights and spec to {args.output}")
    return 0


def _model_arguments(parser: argparse.ArgumentParser, mlir_files: bool) -> None:
    parser.add_argument(
        "model",
        help="zoo model name (see `pattern-mlir models`)"
        + (" or .mlir file (linalg-on-tensors, func.func @forward)" if mlir_files else ""),
    )
    parser.add_argument("--input-shape", type=_shape, help="N,C,H,W (default: the model's)")
    parser.add_argument("--small", action="store_true", help="use the model's small test input")
    parser.add_argument("--patterns", type=int, default=8, help="pattern library size (default 8)")
    parser.add_argument(
        "--connectivity", type=float, default=3.6, help="kernels kept = 1/ratio (default 3.6)"
    )
    parser.add_argument("--dense", action="store_true", help="no pattern pruning (dense baseline)")


def _compile_arguments(parser: argparse.ArgumentParser, mlir_files: bool = True) -> None:
    _model_arguments(parser, mlir_files)
    from .compiler.options import TARGETS

    parser.add_argument(
        "--target",
        default="host",
        choices=TARGETS,
        help="host (JIT for this CPU: AVX-512, else AVX2), x86-64-v3 (AVX2) or "
        "x86-64-v4 (AVX-512) where this CPU runs them, arm64-neon (shared library, "
        "runs under qemu-aarch64 here) or vulkan-adreno (SPIR-V on a Vulkan "
        "driver); default host",
    )
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0 = all cores)")
    parser.add_argument("--save-temps", help="directory for every stage's IR")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pattern-mlir",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "compile",
        help="compile a model; save the executable",
        description="Prune (unless --dense), compile for --target and optionally save.",
    )
    _compile_arguments(p)
    p.add_argument("--tuning-db", help="tuning database to take per-layer schedules from")
    p.add_argument("-o", "--output", help="directory to save the executable in")
    p.add_argument(
        "--print-ir",
        metavar="STAGE",
        help="print one stage's IR (linalg, pattern, packed, vector, ...)",
    )
    p.set_defaults(run=cmd_compile)

    p = sub.add_parser(
        "models",
        help="list the model zoo",
        description="The zoo's models: name, default input, small test input.",
    )
    p.set_defaults(run=cmd_models)

    p = sub.add_parser(
        "run", help="run a saved executable", description="Load an executable and run it once."
    )
    p.add_argument("executable", help="directory written by `compile -o`")
    p.add_argument("--input", help=".npy input (default: random)")
    p.add_argument("-o", "--output", help=".npy file for the output")
    p.set_defaults(run=cmd_run)

    p = sub.add_parser(
        "bench",
        help="time a compiled zoo model against torch",
        description="Compile a zoo model and compare its latency with torch at batch 1.",
    )
    _compile_arguments(p, mlir_files=False)
    p.add_argument("--runs", type=int, default=20, help="timed runs (median)")
    p.set_defaults(run=cmd_bench)

    p = sub.add_parser(
        "prune",
        help="project a zoo model onto patterns; save weights and spec",
        description="One-shot pattern + connectivity projection (no data).",
    )
    _model_arguments(p, mlir_files=False)
    p.add_argument(
        "-o", "--output", required=True, help="directory for weights (safetensors) and spec (JSON)"
    )
    p.set_defaults(run=cmd_prune)

    from . import tuning_cli

    p = sub.add_parser(
        "tune",
        help="auto-tune the schedules of a model's pattern convs",
        description=tuning_cli.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tuning_cli.add_arguments(p)
    p.set_defaults(run=tuning_cli.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, KeyError, TypeError, FileNotFoundError, RuntimeError) as error:
        _log(f"pattern-mlir {args.command}: error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
