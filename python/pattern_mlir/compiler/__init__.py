"""The compile driver: stages, options, executables."""

from .api import compile, compile_str, load
from .errors import CompileError
from .executable import Executable
from .options import TARGETS, CompileOptions

__all__ = ["TARGETS", "CompileError", "CompileOptions", "Executable", "compile", "compile_str", "load"]
