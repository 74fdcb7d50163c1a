"""The LiteRT peer's interpreter: .venv-litert, a venv layered on .venv, set up on first use.

litert-torch cannot go into .venv: it pins typing_extensions below 4.13 (through xdsl) and
brings jax and transformers, which the project's pinned environment should not get. A fully
separate venv would need its own torch and, for ``import pattern_mlir`` (the worker's shared
timing code and the zoo models import it), the 1 GB MLIR bindings. So .venv-litert holds only
what requirements-litert.txt adds and sees .venv's packages behind its own (a ``.pth`` that
adds .venv's site-packages, editable install included): torch, numpy and pattern_mlir are
.venv's, typing_extensions is its own. pip runs there with requirements.txt's torch pin, so it
never pulls a CUDA torch; a stamp of what was installed skips it when nothing changed.
Setup failures are kept, so that every model reports LiteRT as failed instead of retrying.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

__all__ = ["python", "versions"]

ROOT = Path(__file__).resolve().parents[3]  # the repository: scripts/bench/peers/ is three down
VENV = ROOT / ".venv-litert"
REQUIREMENTS = ROOT / "requirements-litert.txt"
_PACKAGES = ("ai-edge-litert", "litert-torch")


def _torch_pin() -> str:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return next(ln.strip() for ln in lines if ln.startswith("torch=="))


def _site() -> Path:
    return VENV / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


@functools.cache
def _setup() -> tuple[str, str]:
    """(python, "") once .venv-litert is up to date, or ("", why it could not be set up)."""
    base = sysconfig.get_paths()["purelib"]  # .venv's, when the benchmark runs in .venv
    stamp_text = f"{base}\n{_torch_pin()}\n{REQUIREMENTS.read_text()}"
    stamp, py = VENV / ".installed", VENV / "bin" / "python"
    if stamp.exists() and stamp.read_text() == stamp_text and py.exists():
        return str(py), ""
    try:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        (_site() / "_base_venv.pth").write_text(f"import site; site.addsitedir({base!r})\n")
        pip = [str(py), "-m", "pip", "install", "-q", _torch_pin(), "-r", str(REQUIREMENTS)]
        subprocess.run(pip, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as error:
        return "", f"setting up {VENV} failed: {' '.join(error.cmd)}\n{error.stderr or ''}"
    stamp.write_text(stamp_text)
    return str(py), ""


def python() -> str:
    """The interpreter LiteRT workers run in; RuntimeError when .venv-litert cannot be set up."""
    py, error = _setup()
    if error:
        raise RuntimeError(error[-3000:])
    return py


def versions() -> dict[str, str]:
    """The LiteRT packages' versions for the report (set up first; "not installed" on failure)."""
    _setup()
    out = {}
    for name in _PACKAGES:
        found = list(metadata.distributions(name=name, path=[str(_site())]))
        out[name] = found[0].version if found else "not installed"
    return out
