"""Registry of the passes written in Python.

Every pass has one dialect-prefixed kebab-case name (`pattern-pack-fkw`) used
both by `pattern-opt` and by the compiler's pipeline, so a stage that fails in
`pattern_mlir.compile` can be replayed with the same name on the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mlir import ir

PassBody = Callable[[ir.Operation, dict[str, str]], None]


@dataclass(frozen=True)
class PythonPass:
    """A pass implemented in Python that runs on a builtin.module."""

    name: str
    summary: str
    body: PassBody
    options: tuple[str, ...] = ()

    def run(self, module: ir.Operation, options: dict[str, str] | None = None) -> None:
        options = options or {}
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(self.options) or "none"
            raise ValueError(f"{self.name}: unknown option(s) {unknown}; known options: {known}")
        self.body(module, options)


_PASSES: dict[str, PythonPass] = {}


def register_pass(name: str, summary: str, options: tuple[str, ...] = ()):
    """Decorator registering `fn(module_op, options)` as the pass `name`."""

    def decorate(body: PassBody) -> PassBody:
        if name in _PASSES:
            raise ValueError(f"pass {name!r} is registered twice")
        _PASSES[name] = PythonPass(name, summary, body, options)
        return body

    return decorate


def lookup(name: str) -> PythonPass | None:
    """The Python pass called `name`, or None if no Python pass has that name."""
    _load_all()
    return _PASSES.get(name)


def all_passes() -> list[PythonPass]:
    _load_all()
    return sorted(_PASSES.values(), key=lambda p: p.name)


def _load_all() -> None:
    # Importing the package imports every pass module, which registers them.
    import pattern_mlir.passes  # noqa: F401
