"""Start a worker in a fresh process and read its result line.

The process gets a session of its own, so that stopping it (time-out, low memory) also stops
its children (the torch-mlir importer, opt, llc, qemu) and nothing else. It is stopped when
less than ``MIN_AVAILABLE_GIB`` of the machine's memory stays available (compiling VGG-16 takes
gigabytes, its arm64 build more), rather than letting the kernel's OOM killer pick some
colleague's job. A worker whose runtime lives in another venv (LiteRT) runs with that venv's
interpreter.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .idle import available_gib
from .protocol import find_result

__all__ = ["run_worker_process"]

SCRIPTS = Path(__file__).resolve().parent.parent
MIN_AVAILABLE_GIB = 1.5


def _python_for(module: str) -> str:
    if module == "bench.peers.litert":
        from .peers.litert_venv import python

        return python()
    return sys.executable


def run_worker_process(module: str, args: list[str], timeout: float = 600) -> dict:
    """``python -m <module> args`` in a fresh process; its result (RuntimeError if none)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SCRIPTS), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [_python_for(module), "-m", module, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    deadline, why = time.monotonic() + timeout, ""
    while True:
        try:
            out, err = proc.communicate(timeout=2)
            break
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                why = f"timed out after {timeout:g} s"
            elif available_gib() < MIN_AVAILABLE_GIB:
                why = f"stopped: less than {MIN_AVAILABLE_GIB} GiB of the machine's memory left"
            if why:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
                break
    result = None if why else find_result(out)
    if result is None:
        raise RuntimeError(
            f"{module} failed ({why or f'exit {proc.returncode}'}); arguments: {' '.join(args)}\n"
            f"{out[-2000:]}\n{err[-4000:]}"
        )
    return result
