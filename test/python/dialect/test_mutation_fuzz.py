"""A seeded slice of the mutation fuzzer (scripts/fuzz_mlir.py), and what its campaigns found.

The slice runs a few hundred mutants of the lit inputs through `pattern-opt` and the pattern
passes and asserts that every run ends in success or an `error:` diagnostic: no crash,
hang, out-of-memory or escaped Python exception. The regression cases below are reduced
reproducers of what full campaigns found (docs/fuzz.md), each with the diagnostic it must
give now.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _load_fuzzer():
    spec = importlib.util.spec_from_file_location("fuzz_mlir", ROOT / "scripts" / "fuzz_mlir.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fuzz_mlir", module)
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzzer()

# The parser alone, and the passes of the pattern path (the rest run in full campaigns).
SLICE_CONFIGS = [
    "parse",
    "raise-conv",
    "reorder-filters",
    "pack-fkw",
    "lower-to-vector",
    "pack-lower",
]


def test_mutants_are_deterministic():
    seeds = fuzz.load_seeds()
    pool = fuzz.token_pool(seeds)
    first = [fuzz.make_mutant(i, 7, seeds, pool).text for i in range(20)]
    again = [fuzz.make_mutant(i, 7, seeds, pool).text for i in range(20)]
    assert first == again
    assert len(set(first)) > 15


def test_classify():
    assert fuzz.classify(0, "", False)[0] == "ok"
    assert fuzz.classify(1, "in.mlir:3:8: error: 'pattern.conv2d' op ...", False)[0] == "diagnostic"
    assert fuzz.classify(None, "", True)[0] == "hang"
    assert fuzz.classify(-6, "x.cpp:41: f(): Assertion `n >= 0' failed.", False) == (
        "crash",
        "assertion `n >= 0`",
    )
    traceback = (
        'Traceback (most recent call last):\n  File "/a/b/pass.py", line 3, in run\nKeyError: 1'
    )
    assert fuzz.classify(1, traceback, False) == (
        "python-traceback",
        'KeyError at File "pass.py", line 3, in run',
    )
    bug = "in.mlir: error: internal error in pass 'p': MemoryError: Unable to allocate"
    assert fuzz.classify(1, bug, False)[0] == "oom"
    assert fuzz.classify(1, "Unknown command line argument", False)[0] == "no-diagnostic"


def test_write_section_keeps_other_sections(tmp_path):
    doc = tmp_path / "fuzz.md"
    doc.write_text("# Fuzzing\n\nintro\n\n## Random models\n\nkept\n")
    fuzz.write_section(doc, "## Mutated MLIR inputs\n\nfirst\n")
    fuzz.write_section(doc, "## Mutated MLIR inputs\n\nsecond\n")
    text = doc.read_text()
    assert "first" not in text and "second" in text
    assert text.count("## Mutated MLIR inputs") == 1 and "## Random models\n\nkept" in text


def test_seeded_slice_has_no_failures(tmp_path):
    """300 mutants through the parser and the pattern passes, in well under a minute."""
    settings = fuzz.Settings(
        seed=20240,
        timeout=20.0,
        memory_bytes=4 << 30,
        exec_mode=False,
        out=tmp_path,
        configs=SLICE_CONFIGS,
    )
    summary = fuzz.campaign(settings, mutants=300, jobs=1)
    failures = {key: entry["first"] for key, entry in summary.failures.items()}
    assert not failures, failures
    assert summary.runs["ok"] > 50 and summary.runs["diagnostic"] > 100, summary.runs


# (name, input, pattern-opt flags, what stderr must say) for the findings of the campaigns.
_CONV_HEAD = "func.func @f(%x: tensor<1x1x8x8xf32>) -> tensor<1x1x1x1xf32> {\n"
REGRESSIONS = [
    # builders.library_masks overflowed int64 for a mask keeping tap 63.
    (
        "tap 63",
        _CONV_HEAD
        + """  %w = arith.constant dense<1.0> : tensor<1x1xf32>
  %y = pattern.conv2d %x, %w library #pattern.library<8x8, [[63]]> assignment [0]
         strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : tensor<1x1x8x8xf32>, tensor<1x1xf32> -> tensor<1x1x1x1xf32>
  return %y : tensor<1x1x1x1xf32>
}
""",
        ["--pattern-pack-fkw"],
        "has kernel 8x8; FKW packing supports 3x3 only",
    ),
    # A row of 2^31 - 1 columns passed the verifier, then lowering planned 134M vectors.
    (
        "wide row",
        """func.func @f(%x: tensor<1x1x1x2147483647xf32>) -> tensor<1x1x1x2147483647xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %y = pattern.packed_conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5]]>
         filter_order [0] offsets [0, 1] channels [0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x1x1x2147483647xf32>, tensor<1x4xf32> -> tensor<1x1x1x2147483647xf32>
  return %y : tensor<1x1x1x2147483647xf32>
}
""",
        ["--pattern-lower-to-vector"],
        "has padded input width 2147483649; the CPU lowering supports up to 32768",
    ),
    # The upstream parser of linalg.broadcast stored a null `dimensions` attribute.
    (
        "broadcast dims",
        """func.func @f(%a: tensor<4xf32>, %b: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %r = linalg.broadcast ins(%a : tensor<4xf32>) outs(%b : tensor<4x2xf32>) dimensions = [0, x]
  return %r : tensor<4x2xf32>
}
""",
        [],
        "2:76: error: dimensions is not a list of 64-bit integers",
    ),
    # A splat constant whose element count overflows int64 aborted the upstream parser.
    (
        "overflowing splat",
        """func.func @f() -> tensor<4x4611686018427387904xf32> {
  %c = arith.constant dense<0.5> : tensor<4x4611686018427387904xf32>
  return %c : tensor<4x4611686018427387904xf32>
}
""",
        ["--pattern-raise-conv"],
        "2:36: error: tensor type of a constant with more than 2^63 - 1 elements",
    ),
]


@pytest.mark.parametrize(
    "name, text, flags, expected", REGRESSIONS, ids=[r[0] for r in REGRESSIONS]
)
def test_campaign_findings_are_diagnostics(pattern_opt, tmp_path, name, text, flags, expected):
    path = tmp_path / "in.mlir"
    path.write_text(text)
    result = subprocess.run(
        [pattern_opt, str(path), *flags], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_conv_without_strides_is_raised(pattern_opt, tmp_path):
    """linalg convs may omit `strides` and `dilations` (both default to 1)."""
    path = tmp_path / "in.mlir"
    path.write_text("""func.func @f(%x: tensor<1x1x5x5xf32>) -> tensor<1x1x3x3xf32> {
  %w = arith.constant dense<[[[[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]]]> : tensor<1x1x3x3xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x1x3x3xf32>
  %o = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  %c = linalg.conv_2d_nchw_fchw ins(%x, %w : tensor<1x1x5x5xf32>, tensor<1x1x3x3xf32>)
         outs(%o : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  return %c : tensor<1x1x3x3xf32>
}
""")
    result = subprocess.run(
        [pattern_opt, str(path), "--pattern-raise-conv"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "pattern.conv2d" in result.stdout and "strides [1, 1]" in result.stdout


def test_library_masks_keep_tap_63():
    from pattern_mlir import register_dialect

    register_dialect()
    from mlir import ir
    from pattern_mlir.dialects import builders

    with ir.Context():
        attr = ir.Attribute.parse("#pattern.library<8x8, [[0, 63], [1, 62]]>")
        masks = builders.library_masks(attr).reshape(2, -1)
    assert masks[0].nonzero()[0].tolist() == [0, 63] and masks[1].nonzero()[0].tolist() == [1, 62]


# (input that aborts upstream MLIR, what the guard says) for each check of upstream_guard.
UPSTREAM_HAZARDS = [
    (
        "%c = arith.constant dense<0.5> : tensor<4x4611686018427387904xf32>",
        "tensor type of a constant with more than 2^63 - 1 elements",
    ),
    (
        '{-#\n  dialect_resources: {\n    builtin: {\n      blob: "0x',
        "file metadata '{-#' is not closed",
    ),
    (
        "%r = linalg.transpose ins(%a : tensor<2x3xf32>) outs(%b : tensor<3x2xf32>) permutation = [1, x]",
        "permutation is not a list of 64-bit integers",
    ),
    (
        "%r = linalg.broadcast ins(%a : tensor<4xf32>) outs(%b : tensor<4x2x2xf32>) dimensions = [1, 1]",
        "linalg.broadcast dimensions [1, 1] repeat a dimension",
    ),
    ("func.func @f() attributes {a = array<index: 1, 1>}", "array<> of element type 'index'"),
    (
        '%0 = "linalg.conv_2d_nchw_fchw"(%a, %b, %c) ({}) {linalg.memoized_indexing_maps = [#map]}',
        "linalg.memoized_indexing_maps holds 1 maps for 3 operands",
    ),
    (
        "%r = tensor.expand_shape %a [[]] output_shape [2, 2] : tensor<4xf32> into tensor<2x2xf32>",
        "a reassociation group is empty",
    ),
    (
        'linalg.generic {iterator_types = ["parallel", 3]}',
        "iterator_types entry '3' is not a string",
    ),
    (
        "linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<[1, 9223372036854775807]>",
        "strides value 9223372036854775807 is not below 2^31",
    ),
    (
        "%xp = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 9223372036854775807] {",
        "high padding 9223372036854775807 is not below 2^31",
    ),
    (
        '%4 = "linalg.matmul"(%a, %b, %c) <{indexing_maps = [], operandSegmentSizes = array<i32: 2, 1>}> ({',
        "linalg.matmul has 0 indexing maps, not 3",
    ),
    (
        "%r = linalg.batch_matmul indexing_maps = [#map, #map1] ins(%a, %b : t, t) outs(%c : t)",
        "linalg.batch_matmul has 2 indexing maps, not 3",
    ),
]
# Inputs the guard must leave to the parser: valid IR, and the same text in comments.
UPSTREAM_SAFE = [
    "%c = arith.constant dense<0.5> : tensor<4x4xf32>",
    "func.func @f(%a: tensor<4x4611686018427387904xf32>)",  # a type alone is harmless
    "%r = linalg.transpose ins(%a : tensor<2x3xf32>) outs(%b : tensor<3x2xf32>) permutation = [1, 0]",
    '%0 = "linalg.broadcast"(%a, %b) <{dimensions = array<i64: 0, 2, 3>}>',
    "!spirv.array<162 x f32>",
    '%0 = "linalg.conv_2d_nchw_fchw"(%a, %b, %c) ({}) {linalg.memoized_indexing_maps = '
    "[affine_map<(d0, d1) -> (d0, d1)>, #map1, #map2]}",
    '%3 = "tensor.expand_shape"(%0) <{reassociation = [[0, 1]], static_output_shape = array<i64: 2, 2>}>',
    'iterator_types = ["parallel", #linalg.iterator_type<reduction>]',
    "// CHECK: array<index: 1> and dimensions = [0, 0] {-#",
    "linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<[2, 1]> : vector<2xi64>}",
    "pattern.conv2d %x, %w library #lib assignment [0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]",
    "%xp = tensor.pad %x low[0, %c1, 1, 1] high[0, 0, 1, 2] {",
    '%5 = "linalg.matmul"(%a, %b, %c) <{indexing_maps = [#map, #map1, #map2], operandSegmentSizes = '
    "array<i32: 2, 1>}> ({",
    '%y = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel"]} outs(%o : t)',
]


@pytest.mark.parametrize(
    "text, expected", UPSTREAM_HAZARDS, ids=[h[1][:30] for h in UPSTREAM_HAZARDS]
)
def test_upstream_guard_reports_hazard(text, expected):
    from pattern_mlir.tools.upstream_guard import upstream_hazards

    errors = upstream_hazards(text, "in.mlir")
    assert len(errors) == 1 and expected in errors[0] and errors[0].startswith("in.mlir:1:"), errors


@pytest.mark.parametrize("text", UPSTREAM_SAFE)
def test_upstream_guard_leaves_valid_input(text):
    from pattern_mlir.tools.upstream_guard import upstream_hazards

    assert upstream_hazards(text) == []
