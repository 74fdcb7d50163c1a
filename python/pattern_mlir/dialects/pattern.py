"""The `pattern` dialect's op classes, generated from PatternOps.td."""

from ._pattern_ops_gen import *  # noqa: F401,F403
from ._pattern_ops_gen import _Dialect  # noqa: F401
