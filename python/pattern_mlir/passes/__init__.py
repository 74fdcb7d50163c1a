"""Passes written in Python. Importing this package registers all of them."""

from .registry import PythonPass, all_passes, lookup, register_pass

__all__ = ["PythonPass", "all_passes", "lookup", "register_pass"]
