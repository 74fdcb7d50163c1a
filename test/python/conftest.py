"""Shared fixtures of the Python tests."""

import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pattern_opt() -> str:
    """The `pattern-opt` console script of the environment running the tests."""
    script = Path(sys.executable).parent / "pattern-opt"
    assert script.exists(), f"{script} is missing: install the package with pip install -e ."
    return str(script)


@pytest.fixture(autouse=True)
def no_user_tuning_db(tmp_path_factory, monkeypatch):
    """compile() reads the user's default tuning database when it exists: point it at a
    missing file so a developer's own tuning never changes what a test compiles."""
    monkeypatch.setenv(
        "PATTERN_MLIR_TUNING_DB", str(tmp_path_factory.getbasetemp() / "absent.sqlite")
    )
