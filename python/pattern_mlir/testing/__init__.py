"""Helpers for testing the compiler against PyTorch: random models (random_models)."""

from .random_models import FAMILIES, RandomCase, combine, random_case, relative_error

__all__ = ["FAMILIES", "RandomCase", "combine", "random_case", "relative_error"]
