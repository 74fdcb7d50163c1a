"""The compile driver: stages, options, executables."""

from .._registration import register_dialect

register_dialect()

from ..runtime.executable import Executable, load
from .api import compile, compile_str
from .errors import CompileError
from .options import TARGETS, CompileOptions

__all__ = [
    "TARGETS",
    "CompileError",
    "CompileOptions",
    "Executable",
    "compile",
    "compile_str",
    "load",
]
