"""`pattern-mlir tune`: tune a model's pattern convs and remember the schedules.

    pattern-mlir tune vgg16 --budget 5m                     # a zoo model, projected onto patterns
    pattern-mlir tune model.mlir --db tuning.sqlite         # linalg or pattern-dialect MLIR
    pattern-mlir compile vgg16 --tuning-db tuning.sqlite    # (once wired) compile with them

Interrupting (Ctrl-C) loses at most the candidate being measured: run the same command again
to resume. Layers already tuned are not tuned again unless --retune.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_arguments", "main", "run"]


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `tune` subcommand's arguments (for hooking into the `pattern-mlir` parser)."""
    parser.add_argument("model", help="zoo model name or .mlir file")
    parser.add_argument(
        "--target",
        default="host",
        choices=["host", "x86-64-v3", "x86-64-v4", "vulkan-adreno"],
        help="what to tune for: this CPU (host, or an x86-64 level it runs), or workgroup tilings "
        "on the default Vulkan device ($PATTERN_MLIR_VULKAN_DEVICE picks another); arm64 cannot "
        "be measured here",
    )
    parser.add_argument("--budget", default="5m", help="time for the whole model: 300, 90s, 5m, 1h")
    parser.add_argument(
        "--db",
        help="tuning database (default: $PATTERN_MLIR_TUNING_DB or "
        "~/.cache/pattern-mlir/tuning.sqlite)",
    )
    parser.add_argument("--retune", action="store_true", help="tune layers already in the database")
    parser.add_argument(
        "--clock",
        default="cpu",
        choices=["cpu", "wall"],
        help="time kernels by thread CPU time (robust on a busy machine) or wall",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="thread count to tune for, as compile's num_threads (default 1); above 1 the "
        "filter groups per layer are tuned too, timed by wall clock",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the search")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--input-shape", help="N,C,H,W for a zoo model (default: the model's)")
    parser.add_argument("--small", action="store_true", help="use the zoo model's small input")
    parser.add_argument("--patterns", type=int, default=8, help="pattern library size (default 8)")
    parser.add_argument(
        "--connectivity", type=float, default=3.6, help="kernels kept = 1/ratio (default 3.6)"
    )


def _layers(args):
    from .runtime.vulkan import vulkan_device_name
    from .tuning.layers import GPU_TARGET, layers_from_module, layers_from_torch

    # GPU results are keyed by the device that measured them (the CPU's name for the host).
    cpu = vulkan_device_name() if args.target == GPU_TARGET else None

    if args.model.endswith(".mlir"):
        from mlir import ir

        from pattern_mlir import register_dialect

        register_dialect()
        from pattern_mlir.passes.raise_conv import RaiseConv

        with ir.Context(), ir.Location.unknown():
            module = ir.Module.parse(Path(args.model).read_text())
            RaiseConv().apply(module.operation)
            return layers_from_module(module.operation, args.target, cpu)
    from . import models, prune

    shape = tuple(int(v) for v in args.input_shape.split(",")) if args.input_shape else None
    model, x = models.build(args.model, input_shape=shape, small=args.small)
    _log(
        f"projecting {args.model}'s 3x3 convs: {args.patterns} patterns, "
        f"connectivity {args.connectivity}"
    )
    prune.project(model, num_patterns=args.patterns, connectivity=args.connectivity)
    return layers_from_torch(model, x, args.target, cpu)


def format_summary(summary) -> str:
    """The table printed after tuning: per distinct layer, default vs tuned."""
    header = f"{'layer':<24} {'count':>5} {'default ms':>10} {'tuned ms':>9} {'gain':>6} "
    lines = [header + f"{'schedules':>9}  status"]
    for o in summary.outcomes:
        sig = o.layer.signature
        if o.result is None:
            lines.append(
                f"{sig.shape_text():<24} {o.layer.count:>5} {'':>10} {'':>9} {'':>6} "
                f"{'':>9}  {o.status}: {o.reason}"
            )
            continue
        r = o.result
        lines.append(
            f"{sig.shape_text():<24} {o.layer.count:>5} {r.default_ms:>10.3f} {r.ms:>9.3f} "
            f"{r.speedup:>5.2f}x {r.evaluations:>9}  {o.status}"
        )
    lines.append(
        f"pattern convs of the model: {summary.weighted_speedup():.2f}x faster than the default "
        f"schedules (geometric mean per layer {summary.geomean_speedup():.2f}x); "
        f"tuning took {summary.seconds:.0f} s"
    )
    return "\n".join(lines)


def run(args) -> int:
    from .tuning import TuneOptions, TuningDB, default_db_path, parse_budget, tune_layers

    if args.threads < 1 or (args.threads > 1 and args.target == "vulkan-adreno"):
        _log(f"error: --threads must be >= 1 (and 1 for {args.target}), got {args.threads}")
        return 2
    options = TuneOptions(
        budget_s=parse_budget(args.budget),
        clock=args.clock,
        threads=args.threads,
        retune=args.retune,
        seed=args.seed,
    )
    layers = _layers(args)
    if not layers:
        _log(f"{args.model} has no pattern convs to tune")
        return 0
    db_path = Path(args.db) if args.db else default_db_path()
    _log(
        f"tuning {len(layers)} pattern conv(s) of {args.model} for {args.target} "
        f"at {args.threads} thread(s) within "
        f"{options.budget_s:.0f} s; database {db_path}"
    )
    with TuningDB(db_path) as db:
        try:
            summary = tune_layers(layers, db, options, progress=not args.no_progress)
        except KeyboardInterrupt:
            _log("interrupted: measurements so far are saved; run the same command to resume")
            return 130
    print(format_summary(summary))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pattern-mlir tune",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (ValueError, KeyError, FileNotFoundError, RuntimeError) as error:
        _log(f"pattern-mlir tune: error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
