"""Distributed pruning with real processes: 2 CPU ranks over gloo, launched by torchrun or by hand.

Each launch runs dist_worker.py on every rank (TinyNet, toy batches, a few seconds); every rank
writes what it got to rank<r>.json. Subprocesses and the process group both have timeouts, so a
bug shows up as a failure, never as a hung test run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from pattern_mlir import prune
from pattern_mlir.prune.distributed import Ranks, Shard
from prune_testlib import TinyNet, state_digest

WORKER = Path(__file__).with_name("dist_worker.py")
TIMEOUT_S = 120
_LAUNCHER_VARS = (
    "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
)  # fmt: skip


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LAUNCHER_VARS}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(WORKER.parent), env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra)
    return env


def _result(out: Path, rank: int) -> dict:
    path = out / f"rank{rank}.json"
    assert path.is_file(), f"rank {rank} wrote no result; see {out}"
    return json.loads(path.read_text())


def _by_hand(scenario: str, out: Path, world: int = 2, **env: str) -> list[subprocess.Popen]:
    """Start `world` workers that join a group over a file store in `out`."""
    procs = []
    for r in range(world):
        with open(out / f"log{r}.txt", "w") as log:  # a file, not a pipe nobody drains
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(WORKER), scenario, str(out)],
                    env=_env(
                        PM_INIT_FILE=str(out / "store"), PM_RANK=str(r), PM_WORLD=str(world), **env
                    ),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    for p in procs:
        try:
            p.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail(f"{scenario}: a rank hung past {TIMEOUT_S} s")
    return procs


def test_torchrun_two_ranks_agree_and_rank0_saves(tmp_path):
    log_dir = tmp_path / "logs"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "--log-dir", str(log_dir), "--redirects", "3", str(WORKER), "ok", str(tmp_path),
    ]  # fmt: skip
    run = subprocess.run(cmd, env=_env(), timeout=TIMEOUT_S, capture_output=True, text=True)
    r0, r1 = _result(tmp_path, 0), _result(tmp_path, 1)
    assert "error" not in r0 and "error" not in r1, (r0, r1, run.stderr[-2000:])
    # The ranks started from different random weights; they end bit-identical, masks included.
    assert r0["spec"] == r1["spec"]
    assert r0["state"] == r1["state"]
    assert r0["records"] == r1["records"]
    # 9 batches over 2 ranks: 4 each (the odd one dropped so that both take the same steps).
    assert {r["batches"] for r in r0["records"] if "batches" in r} == {4}
    # Rank 0 wrote the model; it loads back into a fresh model and matches both ranks.
    model = TinyNet()
    _, spec = prune.load(tmp_path / "model", model)
    assert spec == prune.PruneSpec.from_json(r0["spec"])
    assert state_digest(model) == r0["state"]
    # Progress bars on rank 0 only.
    stderr = {p.parent.name: p.read_text() for p in log_dir.rglob("stderr.log")}
    assert "admm 1/2" in stderr["0"] and "retrain 1/1" in stderr["0"]
    assert "admm" not in stderr["1"] and "retrain" not in stderr["1"]


def test_block_sparsity_on_two_ranks(tmp_path):
    _by_hand("blocks", tmp_path)
    r0, r1 = _result(tmp_path, 0), _result(tmp_path, 1)
    assert "error" not in r0 and "error" not in r1, (r0, r1)
    assert r0["spec"] == r1["spec"] and r0["state"] == r1["state"]
    spec = prune.PruneSpec.from_json(r0["spec"])
    assert list(spec.blocks) == ["point.weight", "head.weight"] and spec.block_sparsity == 0.5
    model = TinyNet()
    _, loaded = prune.load(tmp_path / "model", model)  # verify()s the block structure
    assert loaded == spec


def test_a_rank_that_dies_fails_the_others_cleanly(tmp_path):
    _by_hand("rank-dies", tmp_path)
    r0 = _result(tmp_path, 0)
    assert r0["error"] == "DistributedError", r0
    assert "rank 0 of 2 lost its peers during" in r0["message"]
    assert "start every rank again" in r0["message"]
    assert not (tmp_path / "rank1.json").exists()
    assert not (tmp_path / "model").exists()


def _assert_both_ranks_failed_before_training(tmp_path, message: str) -> None:
    for rank in (0, 1):
        r = _result(tmp_path, rank)
        assert r["error"] == "DistributedError", r
        assert message in r["message"]
    assert not (tmp_path / "model").exists()


def test_ranks_that_disagree_fail_before_training(tmp_path):
    _by_hand("settings-differ", tmp_path)
    _assert_both_ranks_failed_before_training(
        tmp_path, "ranks disagree on connectivity: 3.6 on rank 0, 2.0 on rank 1"
    )


def test_world_size_mismatch(tmp_path):
    _by_hand("ok", tmp_path, WORLD_SIZE="3")
    _assert_both_ranks_failed_before_training(
        tmp_path, "WORLD_SIZE=3 but the process group has 2 ranks"
    )


def test_fewer_processes_than_world_size(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _env(RANK="0", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    subprocess.run(
        [sys.executable, str(WORKER), "lone-rank", str(tmp_path)],
        env=env,
        timeout=TIMEOUT_S,
        capture_output=True,
    )
    r = _result(tmp_path, 0)
    assert r["error"] == "DistributedError", r
    assert "could not join a group of WORLD_SIZE=2 ranks" in r["message"]
    assert "Start exactly WORLD_SIZE processes" in r["message"]


def test_shard_takes_every_world_th_batch_and_drops_the_odd_round():
    data = list(range(9))
    assert list(Shard(data, 0, 2)) == [0, 2, 4, 6]
    assert list(Shard(data, 1, 2)) == [1, 3, 5, 7]
    assert len(Shard(data, 1, 2)) == 4
    assert list(Shard(iter(range(5)), 1, 3)) == [1]  # no len() needed


def test_fewer_batches_than_ranks():
    with pytest.raises(prune.DistributedError, match="1 batches per epoch, fewer than the 2 ranks"):
        Ranks(0, 2).shard([(torch.zeros(1), torch.zeros(1))])


def test_a_distributed_sampler_is_used_as_is():
    ds = torch.utils.data.TensorDataset(torch.arange(8.0), torch.arange(8))
    sampler = torch.utils.data.DistributedSampler(ds, num_replicas=2, rank=1, seed=5)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, sampler=sampler)
    mine = Ranks(1, 2).shard(loader)
    first, second = [torch.cat([x for x, _ in mine]) for _ in range(2)]
    assert len(mine) == 2 and len(first) == 4
    assert not torch.equal(first, second)  # set_epoch was called: a new shuffle each epoch
