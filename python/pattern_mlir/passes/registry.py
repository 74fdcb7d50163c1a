"""Registry of the passes written in Python.

Every pass has one dialect-prefixed kebab-case name (`pattern-pack-fkw`) used both by
`pattern-opt` and by the compiler's pipeline, so a stage that fails in
`pattern_mlir.compile` can be replayed with the same name on the command line.

A pass is a frozen dataclass whose fields are its options (as xDSL's `ModulePass`): the
compiler builds it with typed values (`VectorizeDense(target="x86-64-v4", threads=2)`),
`pattern-opt` parses it once from its option syntax (`--pattern-vectorize-dense="target=
x86-64-v4 threads=2"`, `ModulePass.parse`), and it prints itself back in that syntax
(`flag`, `str`), which is how a failed stage's reproducer names it. A value an option
cannot take is refused when the pass is built (`__post_init__`), before any IR is read.
"""

from __future__ import annotations

import abc
import dataclasses
import shlex
from typing import ClassVar, TypeVar

from mlir import ir

_TRUE, _FALSE = ("1", "true", ""), ("0", "false")

P = TypeVar("P", bound="ModulePass")


@dataclasses.dataclass(frozen=True)
class ModulePass(abc.ABC):
    """A pass on a builtin.module. Subclasses are frozen dataclasses; each field is an
    option, of type str, int, float or bool (or one of those or None), with a default.
    The option's name is the field's with hyphens for underscores (`block-rows`), as in
    MLIR's own pass options."""

    name: ClassVar[str] = ""

    @abc.abstractmethod
    def apply(self, module: ir.Operation) -> None:
        """Rewrites `module` in place."""

    @classmethod
    def summary(cls) -> str:
        """The first paragraph of the pass's docstring, on one line."""
        paragraph = (cls.__doc__ or "").strip().split("\n\n")[0]
        return " ".join(line.strip() for line in paragraph.splitlines())

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return tuple(_option(f.name) for f in dataclasses.fields(cls))

    @classmethod
    def parse(cls: type[P], text: str) -> P:
        """The pass with the options `text` gives, in pattern-opt syntax (`a=1 b=x`);
        a ValueError naming the pass for an unknown option or a value of the wrong type."""
        fields = {_option(f.name): f for f in dataclasses.fields(cls)}
        values: dict[str, object] = {}
        for item in shlex.split(text):
            key, _, value = item.partition("=")
            if key not in fields:
                known = ", ".join(fields) or "none"
                raise ValueError(f"{cls.name}: unknown option {key!r}; known options: {known}")
            field = fields[key]
            values[field.name] = _convert(cls.name, key, value, str(field.type))
        return cls(**values)

    def options_text(self) -> str:
        """The options that differ from their defaults, in pattern-opt syntax."""
        items = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value != f.default:
                shown = ("true" if value else "false") if isinstance(value, bool) else str(value)
                items.append(f"{_option(f.name)}={shlex.quote(shown)}")
        return " ".join(items)

    def flag(self) -> str:
        """The pass as a pattern-opt flag: `--name` or `--name='a=1 b=x'`."""
        options = self.options_text()
        return f"--{self.name}" + (f"={shlex.quote(options)}" if options else "")

    def __str__(self) -> str:
        options = self.options_text()
        return f"{self.name}{{{options}}}" if options else self.name


def _option(field_name: str) -> str:
    return field_name.replace("_", "-")


def _convert(pass_name: str, key: str, value: str, annotation: str) -> object:
    if "bool" in annotation:
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ValueError(f"{pass_name}: option {key}={value!r} is not a boolean")
    for kind, word in ((int, "an integer"), (float, "a number")):
        if kind.__name__ in annotation:
            try:
                return kind(value)
            except ValueError:
                raise ValueError(f"{pass_name}: option {key}={value!r} is not {word}") from None
    return value


class PassError(ValueError):
    """A pass cannot handle an op. `pattern-opt` reports it as an MLIR error diagnostic at
    the op's location (so `-verify-diagnostics` tests it); its text names both."""

    def __init__(self, op: ir.Operation, message: str) -> None:
        self.location = op.location
        self.detail = f"'{op.name}' {message}"
        super().__init__(f"{op.location}: {self.detail}")


_PASSES: dict[str, type[ModulePass]] = {}


def register_pass(cls: type[P]) -> type[P]:
    """Class decorator registering a ModulePass subclass under its `name`."""
    if not cls.name or not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__}: a pass is a dataclass with a name")
    if cls.name in _PASSES:
        raise ValueError(f"pass {cls.name!r} is registered twice")
    _PASSES[cls.name] = cls
    return cls


def lookup(name: str) -> type[ModulePass] | None:
    """The Python pass called `name`, or None if no Python pass has that name."""
    _load_all()
    return _PASSES.get(name)


def all_passes() -> list[type[ModulePass]]:
    _load_all()
    return sorted(_PASSES.values(), key=lambda p: p.name)


def _load_all() -> None:
    # Importing the package imports every pass module, which registers them.
    import pattern_mlir.passes  # noqa: F401
