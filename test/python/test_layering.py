"""The package's dependencies point one way (docs/design.md, section 6): every import in
python/pattern_mlir, at module level or inside a function, is checked against the rules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "python" / "pattern_mlir"

# Packages (under pattern_mlir) each package must not import.
FORBIDDEN = {
    "runtime": (
        "compiler",
        "frontend",
        "passes",
        "codegen",
        "backend",
        "gpu",
        "tuning",
        "tuning_db",
        "dialects",
    ),
    "codegen": ("compiler", "frontend", "passes", "tuning", "tuning_db"),
    "backend": ("compiler", "frontend", "passes", "tuning", "tuning_db"),
    "passes": ("tuning",),
    "tuning_db": ("tuning", "compiler"),
    "target": ("compiler", "passes", "tuning", "tuning_db"),
    "compiler": ("tuning",),
    "frontend": ("passes", "tuning"),
}
# Modules that open a Vulkan device: no pass may import them.
DEVICE_MODULES = (
    "runtime.vulkan",
    "runtime.vulkan_device",
    "runtime.vulkan_commands",
    "runtime.vulkan_kernel",
    "runtime.vulkan_buffer",
)


def _imports(path: Path) -> set[str]:
    """Every pattern_mlir module `path` imports, relative to pattern_mlir ("passes.registry")."""
    # The package relative imports start from: a module's folder, which for __init__.py is
    # the package itself.
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                names = base + ([node.module] if node.module else [])
            else:
                names = (node.module or "").split(".")
            if names[0] != "pattern_mlir":
                continue
            module = ".".join(names[1:])
            found.add(module)
            found.update(f"{module}.{alias.name}".lstrip(".") for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.removeprefix("pattern_mlir.")
                for alias in node.names
                if alias.name.startswith("pattern_mlir.")
            )
    return {name for name in found if name}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_rules_name_existing_packages():
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and any(p.glob("*.py"))}
    named = set(FORBIDDEN) | {name for names in FORBIDDEN.values() for name in names}
    assert named <= packages, f"rules name packages that do not exist: {named - packages}"


def test_the_import_reader_sees_relative_imports():
    imports = _imports(PACKAGE / "passes" / "apply_tuning.py")
    assert "passes.registry" in imports
    assert any(name.startswith("codegen.schedule") for name in imports)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_dependencies_point_one_way(layer):
    wrong = []
    for path in _modules():
        if path.relative_to(PACKAGE).parts[0] != layer:
            continue
        for name in sorted(_imports(path)):
            if name.split(".")[0] in FORBIDDEN[layer]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports pattern_mlir.{name}")
    assert not wrong, "\n".join(wrong)


def test_no_pass_opens_a_device():
    wrong = [
        f"{path.relative_to(PACKAGE)} imports pattern_mlir.{name}"
        for path in _modules()
        if path.relative_to(PACKAGE).parts[0] == "passes"
        for name in sorted(_imports(path))
        if name in DEVICE_MODULES or name.rsplit(".", 1)[0] in DEVICE_MODULES
    ]
    assert not wrong, "\n".join(wrong)


def test_no_two_classes_share_a_name():
    """One name, one thing: two classes of one name (as the GPU path's conv geometry and
    kernel record once were beside codegen's) make every reader check which is meant."""
    where: dict[str, list[str]] = {}
    for path in _modules():
        for node in ast.parse(path.read_text(), str(path)).body:
            if isinstance(node, ast.ClassDef):
                where.setdefault(node.name, []).append(str(path.relative_to(PACKAGE)))
    shared = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert not shared, shared
