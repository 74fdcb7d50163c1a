"""The command-line options bench_layers.py and bench_models.py share: the protocol's knobs,
where results and reports go, and the check that torch runs (it gives the reference output).
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_output_options", "add_round_options", "check_common", "write_report"]

ROOT = Path(__file__).resolve().parents[2]


def add_round_options(
    ap: argparse.ArgumentParser, subject: str, max_rounds: int, max_wait: float
) -> None:
    """Thread counts, runs, rounds, the idle wait and the pruning setting."""
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=20, help="timed runs per process (>= 20)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2, help=f"rounds of A B A B per {subject}")
    ap.add_argument(
        "--max-rounds", type=int, default=max_rounds, help="while round medians disagree"
    )
    ap.add_argument("--noise", type=float, default=0.10, help="round medians' max/min - 1")
    ap.add_argument("--max-busy", type=float, default=0.3, help="cores others may use ...")
    ap.add_argument("--max-wait", type=float, default=max_wait, help="... or wait up to this (s)")
    ap.add_argument("--patterns", type=int, default=8)
    ap.add_argument("--connectivity", type=float, default=3.6)


def add_output_options(ap: argparse.ArgumentParser, name: str) -> None:
    """Work directory, raw JSON, and the report (docs/<name>.md and .png) or its redrawing."""
    ap.add_argument("--workdir", default=f"/tmp/{name}")
    ap.add_argument("--results", default="", help="raw JSON (default: WORKDIR/results.json)")
    ap.add_argument("--md", default=str(ROOT / "docs" / f"{name}.md"))
    ap.add_argument("--png", default=str(ROOT / "docs" / f"{name}.png"))
    ap.add_argument("--render-only", action="store_true")


def check_common(ap: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """``--peers`` as a list starting with pattern,torch; ``--results`` as a path."""
    args.peers = args.peers.split(",")
    if args.peers[:2] != ["pattern", "torch"]:
        ap.error("--peers must start with pattern,torch (torch gives the reference output)")
    args.results = Path(args.results or Path(args.workdir) / "results.json")
    return args


def write_report(args: argparse.Namespace, text: str, plot) -> None:
    """Print the page, write it to ``--md`` and the plot (``plot(path)``) to ``--png``, each if set."""
    print(text)
    if args.md:
        Path(args.md).write_text(text)
    if args.png:
        plot(args.png)
