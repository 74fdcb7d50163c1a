"""Fixtures of the tuning tests: small pattern layers and their MLIR modules."""

import numpy as np
import pattern_mlir
import pattern_mlir.passes.apply_tuning  # noqa: F401  (registers the pass before it is wired)
import pytest
from pattern_mlir.codegen.synthetic import random_layer, random_library
from pattern_mlir.tuning import layer_from_arrays


@pytest.fixture(scope="session")
def small_arrays():
    """(weights OIHW, library, assignment) of a 16 -> 16 channel pattern conv."""
    rng = np.random.default_rng(0)
    library = random_library(4, rng)
    weights, assignment = random_layer(16, 16, library, 2.0, rng)
    return weights, library, assignment


@pytest.fixture(scope="session")
def small_layer(small_arrays):
    weights, library, assignment = small_arrays
    return layer_from_arrays(weights, library, assignment, 12, 20, 1, 1, name="small")
