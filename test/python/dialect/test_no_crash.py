"""No malformed or hostile input may abort pattern-opt or the Python process.

Truncations and mutations of the dialect's own test files are fed to the
native pattern-opt (a crash shows as a negative return code or 134/139) and
parsed in this process (a crash would take pytest down with it).
"""

import random
import subprocess
from pathlib import Path

import pattern_mlir  # noqa: F401
from mlir import ir

ROOT = Path(__file__).resolve().parents[2] / "Dialect" / "Pattern"
SOURCES = [(ROOT / name).read_text() for name in ("ops.mlir", "invalid.mlir")]
SPLIT = "// -----"
CHUNKS = [chunk for text in SOURCES for chunk in text.split(SPLIT) if "pattern." in chunk]

HOSTILE = [
    # shapes: dynamic, zero, huge, integer, unranked
    ("tensor<1x2x8x8xf32>", "tensor<1x2x?x8xf32>"),
    ("tensor<1x2x8x8xf32>", "tensor<1x2x0x8xf32>"),
    ("tensor<1x2x8x8xf32>", "tensor<1x2x9223372036854775807x8xf32>"),
    ("tensor<1x2x8x8xf32>", "tensor<1x2x8x8xi32>"),
    ("tensor<1x2x8x8xf32>", "tensor<*xf32>"),
    ("tensor<3x4xf32>", "tensor<?x4xf32>"),
    ("tensor<3x4xf32>", "tensor<3x-4xf32>"),
    # attributes: wrong kinds, wrong sizes, extreme values
    ("assignment [0, -1, 1, 0]", "assignment [0, -1, 1, 2147483647]"),
    ("assignment [0, -1, 1, 0]", "assignment []"),
    ("strides [1, 1]", "strides [9223372036854775807, 1]"),
    ("padding [1, 1, 1, 1]", "padding [-9223372036854775808, 1, 1, 1]"),
    ("dilations [1, 1]", "dilations [1]"),
    ("<3x3,", "<64x64,"),
    ("<3x3,", "<3x0,"),
    ("[1, 3, 4, 5]", "[63, 64]"),
    ("channels [0, 1, 0]", "channels [0, 1, -7]"),
    ("offsets [0, 1, 2, 3, 3]", "offsets [0, 1, 2, 3, 99]"),
    ("filter_order [1, 0]", "filter_order [-1, 0]"),
    ("activation <relu>", "activation <gelu>"),
]


def _mutants():
    rng = random.Random(0)
    for chunk in CHUNKS:
        for cut in sorted(rng.sample(range(1, len(chunk)), 6)):
            yield chunk[:cut]
        for old, new in HOSTILE:
            if old in chunk:
                yield chunk.replace(old, new, 1)


MUTANTS = list(_mutants())


def test_pattern_opt_never_crashes(tmp_path):
    """All mutants in one -split-input-file run of the native binary: each is
    parsed and verified on its own, and any abort ends the run with a signal."""
    from pattern_mlir.tools.pattern_opt import native_binary

    assert len(MUTANTS) > 50
    path = tmp_path / "mutants.mlir"
    path.write_text(f"\n{SPLIT}\n".join(MUTANTS))
    result = subprocess.run([str(native_binary()), str(path), "-split-input-file"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-3000:]  # some mutants are invalid, none crash
    assert result.stderr.count("error:") >= len(MUTANTS) // 4


def test_python_parse_never_crashes():
    parsed = 0
    for text in MUTANTS:
        with ir.Context():
            try:
                module = ir.Module.parse(text)
            except ir.MLIRError:
                continue
            module.operation.verify()
            parsed += 1
    assert 0 < parsed < len(MUTANTS)
