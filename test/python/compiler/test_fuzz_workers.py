"""The worker processes of scripts/fuzz_models.py: one worker takes case after case, a case
that kills it is a crash and one that does not answer in time a hang, and either way the
worker is gone (with what it started) and its scratch directory removed."""

import argparse
import importlib.util
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _load_fuzzer():
    sys.path.insert(0, str(ROOT / "scripts"))  # the script imports bench.* from its folder
    spec = importlib.util.spec_from_file_location(
        "fuzz_models", ROOT / "scripts" / "fuzz_models.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fuzz_models", module)
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzzer()
ARGS = argparse.Namespace(max_blocks=3, timeout=120.0)


def test_a_worker_takes_case_after_case():
    worker = fuzz._CaseWorker(ARGS)
    try:
        for seed in (3, 4):
            record, usable = worker.run(seed, "host", 300)
            assert usable and record["seed"] == seed and record["outcome"] == "ok", record
    finally:
        worker.close()
    assert not worker.scratch.exists()


def test_a_killed_worker_is_a_crash():
    worker = fuzz._CaseWorker(ARGS)
    try:
        assert worker.run(3, "host", 300)[1]
        os.kill(worker.process.pid, signal.SIGKILL)  # as a case that takes the worker down
        worker.process.wait()
        record, usable = worker.run(5, "host", 300)
        assert not usable and record["outcome"] == "crash" and "SIGKILL" in record["detail"]
    finally:
        worker.close()


def test_a_case_past_its_time_is_a_hang():
    worker = fuzz._CaseWorker(ARGS)
    try:
        record, usable = worker.run(3, "host", 0.2)
        assert not usable and record["outcome"] == "hang"
    finally:
        worker.close()
    assert worker.process.poll() is not None and not worker.scratch.exists()
