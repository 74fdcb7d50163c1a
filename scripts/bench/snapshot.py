"""Run the benchmark on the committed pattern-mlir, not on the live working tree.

pattern_mlir is installed editable from /work/main, which colleagues edit while a run of an
hour goes on: a half-saved file once made the ONNX Runtime and MNN workers fail on import
(every worker imported pattern_mlir). So a run first copies the
committed package (``git archive HEAD``) plus the built parts that git does not hold (the
dialect extension, generated op classes, ``pattern-opt``) into the work directory, and every
process of the run, the torch-mlir importer child included, imports that copy: a
``sitecustomize`` there drops the editable install's import redirect, and PYTHONPATH puts the
copy first. The report names the commit, which is then exactly what ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

__all__ = ["activate", "make_snapshot"]

ROOT = Path(__file__).resolve().parents[2]
_FINDER_MODULE = "_editable_skbc_pattern_mlir"  # scikit-build-core's editable redirect
_SITECUSTOMIZE = f'''"""Written by scripts/bench/snapshot.py: import pattern_mlir from this copy."""
import sys

sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ != "{_FINDER_MODULE}"]
'''


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()


def make_snapshot(workdir: str | Path) -> tuple[Path, str]:
    """(directory to put first on sys.path, commit) of a copy of HEAD's pattern_mlir."""
    commit = _git("rev-parse", "HEAD")
    dest = Path(workdir) / "snapshot" / commit[:12]
    if not (dest / "python" / "sitecustomize.py").exists():
        tmp = dest.with_name(f"{dest.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", commit, "python/pattern_mlir"],
            check=True,
            capture_output=True,
            cwd=ROOT,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        built = Path(sysconfig.get_paths()["purelib"]) / "pattern_mlir"
        shutil.copytree(built, tmp / "python" / "pattern_mlir", dirs_exist_ok=True)
        (tmp / "python" / "sitecustomize.py").write_text(_SITECUSTOMIZE)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.replace(dest)
    return dest / "python", commit


def activate(path: Path) -> None:
    """Make this process and every child import pattern_mlir from the copy at ``path``."""
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ != _FINDER_MODULE]
    sys.path.insert(0, str(path))
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), old]))
