"""arith ops as numpy functions, for the passes that evaluate scalar bodies at compile time
(constant folding of generics, index tables of computed positions)."""

from __future__ import annotations

import numpy as np

__all__ = ["CMPF", "CMPI", "FLOAT_BINARY", "INT_BINARY"]

INT_BINARY = {
    "arith.addi": np.add,
    "arith.subi": np.subtract,
    "arith.muli": np.multiply,
    "arith.maxsi": np.maximum,
    "arith.minsi": np.minimum,
    "arith.andi": np.bitwise_and,
    "arith.ori": np.bitwise_or,
    "arith.xori": np.bitwise_xor,
    "arith.floordivsi": np.floor_divide,
}
FLOAT_BINARY = {
    "arith.addf": np.add,
    "arith.subf": np.subtract,
    "arith.mulf": np.multiply,
    "arith.divf": np.divide,
    "arith.maximumf": np.maximum,
    "arith.minimumf": np.minimum,
    "arith.maxnumf": np.fmax,
    "arith.minnumf": np.fmin,
}
# arith.cmpi / cmpf predicates (their enum values) as numpy comparisons; unsigned ones are absent.
CMPI = {
    0: np.equal,
    1: np.not_equal,
    2: np.less,
    3: np.less_equal,
    4: np.greater,
    5: np.greater_equal,
}
CMPF = {
    1: np.equal,
    2: np.greater,
    3: np.greater_equal,
    4: np.less,
    5: np.less_equal,
    6: lambda a, b: np.not_equal(a, b) & ~np.isnan(a) & ~np.isnan(b),
    7: lambda a, b: ~np.isnan(a) & ~np.isnan(b),
    8: lambda a, b: np.equal(a, b) | np.isnan(a) | np.isnan(b),
    9: lambda a, b: ~np.less_equal(a, b),
    10: lambda a, b: ~np.less(a, b),
    11: lambda a, b: ~np.greater_equal(a, b),
    12: lambda a, b: ~np.greater(a, b),
    13: np.not_equal,
    14: lambda a, b: np.isnan(a) | np.isnan(b),
}
