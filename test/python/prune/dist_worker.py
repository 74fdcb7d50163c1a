"""One rank of a distributed pruning run, launched by test_distributed.py.

    dist_worker.py SCENARIO OUT_DIR

Under torchrun the script never touches torch.distributed itself: admm() joins the group that
torchrun describes, as a user's unchanged script would. Launched by hand (PM_INIT_FILE set), the
group is made here from a file store, so a test can watch what happens to rank 0 when rank 1
dies, instead of torchrun tearing every rank down. Each rank writes OUT_DIR/rank<r>.json: its
spec, a digest of its weights and buffers, or the error it got.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

torch.set_num_threads(1)

from pattern_mlir import prune  # noqa: E402
from pattern_mlir.prune import distributed  # noqa: E402
from prune_testlib import TinyNet, state_digest, toy_batches  # noqa: E402

FAST = {"epochs": 2, "retrain_epochs": 1, "rho": 1e-2, "updates_per_epoch": 2}


def join_by_hand() -> None:
    dist.init_process_group(
        "gloo",
        init_method=f"file://{os.environ['PM_INIT_FILE']}",
        rank=int(os.environ["PM_RANK"]),
        world_size=int(os.environ["PM_WORLD"]),
        timeout=datetime.timedelta(seconds=20),
    )


def run(scenario: str, out: Path, rank: int) -> dict:
    torch.manual_seed(rank)  # different starting weights per rank: admm must use rank 0's
    model = TinyNet()
    batches = toy_batches(count=9)  # 9 batches: the odd one is dropped so both ranks take 4 steps
    records = []

    def callback(record):
        records.append(record)
        if scenario == "rank-dies" and rank == 1 and record["epoch"] == 1:
            os._exit(3)  # killed mid-run: no exception, no goodbye

    kwargs = dict(FAST, callback=callback, eval_data=batches[:3])
    if scenario == "settings-differ" and rank == 1:
        kwargs["connectivity"] = 2.0
    if scenario == "blocks":  # block sparsity too: rank 0's block masks on every rank
        kwargs.update(block_sparsity=0.5, block_rules=prune.BlockRules(min_weights=0))
    if scenario == "lone-rank":
        distributed.init(timeout_s=3)
    spec = prune.admm(model, batches, num_patterns=4, **kwargs)
    prune.save(out / "model", model, spec)  # every rank calls it; rank 0 writes
    return {
        "spec": spec.to_json(),
        "state": state_digest(model),
        "records": [{k: v for k, v in r.items() if k != "samples"} for r in records],
    }


def main() -> None:
    scenario, out = sys.argv[1], Path(sys.argv[2])
    if "PM_INIT_FILE" in os.environ:
        join_by_hand()
    rank = distributed.process_rank()
    try:
        result = run(scenario, out, rank)
    except prune.PruneError as e:
        result = {"error": type(e).__name__, "message": str(e)}
    (out / f"rank{rank}.json").write_text(json.dumps(result))
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: torch 2.13's gloo sometimes aborts there (std::terminate in a
    # c10d thread, a few runs in a hundred, also in a bare DDP script), which would fail the test
    # for nothing the pruning code did.
    os._exit(0)


if __name__ == "__main__":
    main()
