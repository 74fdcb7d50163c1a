"""Outputs against torch: every peer's output is compared with torch NCHW at one thread.

Workers of the first round save each variant's output as ``<subject>.<peer>.<variant>.t<threads>.npy``;
a peer's check is its worst error over variants and thread counts, judged by its bound in
``peer_facts.TOLERANCE``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .peer_facts import TOLERANCE

__all__ = ["check_outputs", "errors", "judge"]


def errors(y: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Relative L2 error and max |y - ref| / max |ref| (float64)."""
    y, ref = np.asarray(y, np.float64), np.asarray(ref, np.float64)
    return {
        "rel_l2": float(np.linalg.norm(y - ref) / np.linalg.norm(ref)),
        "max": float(np.abs(y - ref).max() / np.abs(ref).max()),
    }


def judge(peer: str, check: dict) -> dict:
    """``check`` with its metric, bound and verdict for ``peer`` added."""
    metric, bound = TOLERANCE[peer]
    check["metric"], check["bound"], check["ok"] = metric, bound, check[metric] <= bound
    return check


def check_outputs(subject: str, save_dir: Path) -> dict:
    """Worst error of each peer (over its variants and thread counts) against torch NCHW."""
    ref = np.load(save_dir / f"{subject}.torch.nchw.t1.npy").astype(np.float64)
    checks: dict[str, dict] = {}
    for f in sorted(save_dir.glob(f"{subject}.*.npy")):
        peer = f.name.split(".")[1]
        y = np.load(f).astype(np.float64)
        if y.shape != ref.shape:
            raise ValueError(f"{f.name}: shape {y.shape}, torch gives {ref.shape}")
        err = errors(y, ref)
        c = checks.setdefault(peer, {"rel_l2": 0.0, "max": 0.0})
        c["rel_l2"], c["max"] = max(c["rel_l2"], err["rel_l2"]), max(c["max"], err["max"])
    return {peer: judge(peer, c) for peer, c in checks.items()}
