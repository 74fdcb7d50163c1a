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
