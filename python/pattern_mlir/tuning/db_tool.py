"""Look into and hand-edit a tuning database: ``python -m pattern_mlir.tuning.db_tool``.

    db_tool show DB                          # every result: layer, schedule, gain
    db_tool put DB FILE.mlir --schedule tile_rows=2,vector_width=8 [--func NAME] [--cpu TEXT]

``put`` stores a schedule for the pattern convs of an MLIR file (all, or those in one
function), keyed exactly as ``pattern-apply-tuning`` looks them up: for trying a hand-picked
schedule on a model, and for tests that need an entry without measuring anything.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..codegen.schedule import Schedule, schedule_from_fields


def parse_schedule(text: str) -> Schedule:
    """'tile_rows=2,vector_width=8,...' over the default Schedule's fields."""
    items = (t.strip().partition("=") for t in text.split(",") if t.strip())
    return schedule_from_fields({key: value for key, _, value in items})


def _show(args) -> int:
    from ..tuning_db.database import TuningDB

    with TuningDB(args.db, create=False) as db:
        for r in db.results():
            s = r.schedule
            print(
                f"{r.signature.shape_text():<22} {r.speedup:5.2f}x  {r.default_ms:8.3f} -> "
                f"{r.ms:8.3f} ms  rows={s.tile_rows} cols={s.tile_cols} ch={s.tile_channels} "
                f"vw={s.vector_width} unroll={s.unroll} prefetch={s.prefetch} {s.loop_order} "
                f"align={s.row_align} {s.kernel_order}"
                f"  [{r.signature.target}, {r.signature.cpu}]"
            )
    return 0


def _put(args) -> int:
    from mlir import ir

    from pattern_mlir import register_dialect

    register_dialect()

    from ..passes.utils.conv_info import collect_ops
    from ..tuning_db.database import TuningDB, TuningResult
    from .layers import PATTERN_CONV_OPS, signature_of_op

    schedule = parse_schedule(args.schedule)
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(Path(args.file).read_text())
        roots = [module.operation]
        if args.func:
            roots = [
                op.operation
                for op in module.body.operations
                if op.operation.name == "func.func"
                and op.operation.attributes["sym_name"].value == args.func
            ]
            if not roots:
                raise ValueError(f"{args.file} has no func.func @{args.func}")
        sigs = [
            signature_of_op(op, args.target, args.cpu)
            for root in roots
            for name in PATTERN_CONV_OPS
            for op in collect_ops(root, name)
        ]
    with TuningDB(args.db) as db:
        for sig in sigs:
            db.put(TuningResult(sig, schedule, args.ms, args.ms), keep_faster=False)
    print(f"stored {len(sigs)} entr{'y' if len(sigs) == 1 else 'ies'} in {args.db}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="db_tool", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("show", help="list the results")
    p.add_argument("db")
    p.set_defaults(run=_show)
    p = sub.add_parser("put", help="store a schedule for an MLIR file's pattern convs")
    p.add_argument("db")
    p.add_argument("file")
    p.add_argument("--schedule", required=True, help="field=value,... (others: defaults)")
    p.add_argument("--func", help="only the convs of this func.func")
    p.add_argument("--target", default="host")
    p.add_argument("--cpu", help="CPU key (default: this machine's)")
    p.add_argument("--ms", type=float, default=1.0, help="time to record (default 1.0)")
    p.set_defaults(run=_put)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"db_tool: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
