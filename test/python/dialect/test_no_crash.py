"""No malformed or hostile input may abort pattern-opt or the Python process.

Truncations and mutations of the dialect's own test files are fed to the
native pattern-opt (a crash shows as a negative return code or 134/139) and
parsed in this process (a crash would take pytest down with it).
"""

import random
import resource
import subprocess
from pathlib import Path

import pattern_mlir
from mlir import ir

pattern_mlir.register_dialect()  # the tests parse pattern IR in fresh contexts

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
    # 64- and 63-tap masks of an 8x8 kernel are ~0 and ~0 - 1, hash tables' reserved keys
    (
        "<3x3, [[1, 3, 4, 5]",
        "<8x8, [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63]",
    ),
    (
        "<3x3, [[1, 3, 4, 5]",
        "<8x8, [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63]",
    ),
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
    result = subprocess.run(
        [str(native_binary()), str(path), "-split-input-file"],
        capture_output=True,
        text=True,
        timeout=300,
    )
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


def test_huge_declared_channel_count_needs_no_huge_memory(tmp_path):
    """A packed conv declaring 2e9 input channels with a 2-kernel stream is verified in
    memory proportional to the stream: under a 4 GiB address-space limit, not an
    out-of-memory abort (a per-channel table would need 16 GB)."""
    from pattern_mlir.tools.pattern_opt import native_binary

    path = tmp_path / "huge.mlir"
    path.write_text("""
func.func @huge(%x: tensor<1x2000000000x1x1xf32>, %w: tensor<2x4xf32>) -> tensor<1x1x1x1xf32> {
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5]]>
         filter_order [0] offsets [0, 2] channels [1999999999, 7]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x2000000000x1x1xf32>, tensor<2x4xf32> -> tensor<1x1x1x1xf32>
  return %y : tensor<1x1x1x1xf32>
}
""")
    limit = 4 << 30

    def cap_memory():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    result = subprocess.run(
        [str(native_binary()), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=cap_memory,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "channels [1999999999, 7]" in result.stdout
