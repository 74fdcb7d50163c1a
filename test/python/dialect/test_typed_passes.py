"""Python passes as frozen dataclasses of their options (passes/registry.py), and the
`--verify-diagnostics` check of their located errors (passes/diagnostics.py)."""

from __future__ import annotations

import dataclasses
import shlex

import pytest
from pattern_mlir.compiler.stages import cpu_stages, gpu_stages
from pattern_mlir.passes import all_passes, lookup
from pattern_mlir.passes.driver import run_python_pipeline
from pattern_mlir.passes.raise_blocks import RaiseBlocks
from pattern_mlir.passes.vectorize_dense import VectorizeDense

EXAMPLES = [
    VectorizeDense(target="x86-64-v3", threads=2),
    RaiseBlocks(block_rows=8, max_density=0.25),
    lookup("pattern-apply-tuning")(db="/tmp/a tuning db.sqlite", learned=False, threads=3),
    lookup("pattern-gpu-conv-kernels")(staged=False),
    lookup("pattern-lower-to-gpu")(spirv=True, dense=False, profile="adreno-640"),
    lookup("pattern-expand-math")(ops="erf,fpowi"),
]


def test_every_pass_is_a_frozen_dataclass_with_a_summary():
    passes = all_passes()
    assert len(passes) >= 26
    for python_pass in passes:
        assert dataclasses.is_dataclass(python_pass), python_pass.name
        assert python_pass.__dataclass_params__.frozen, python_pass.name
        assert python_pass.summary() and python_pass.name.startswith("pattern-")
        assert all("_" not in option for option in python_pass.option_names())


@pytest.mark.parametrize("python_pass", EXAMPLES, ids=lambda p: p.name)
def test_options_print_back_in_pattern_opt_syntax(python_pass):
    text = python_pass.options_text()
    assert text and type(python_pass).parse(text) == python_pass
    flag = python_pass.flag()
    assert flag.startswith(f"--{python_pass.name}=")
    assert str(python_pass).startswith(f"{python_pass.name}{{")
    with pytest.raises(dataclasses.FrozenInstanceError):
        python_pass.name_of_nothing = 1


def test_defaults_print_as_the_bare_name():
    assert VectorizeDense().flag() == "--pattern-vectorize-dense"
    assert str(VectorizeDense()) == "pattern-vectorize-dense"
    assert VectorizeDense.parse("threads=1") == VectorizeDense()


def test_every_stage_of_the_compiler_replays_by_its_flag():
    stages = cpu_stages("x86-64-v3", 2, patterns=True, tuning_db="/tmp/db.sqlite")
    stages += gpu_stages(True, "/tmp/db.sqlite", tuning_device="llvmpipe (LLVM 19, 256 bits)")
    for stage in stages:
        if stage.python_pass is None:
            continue
        flag = shlex.split(stage.command("in.mlir"))[2]
        name, _, options = flag.removeprefix("--").partition("=")
        assert lookup(name).parse(options) == stage.python_pass


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: VectorizeDense.parse("tile=4"), r"unknown option 'tile'; known options: target"),
        (lambda: VectorizeDense.parse("threads=two"), r"threads='two' is not an integer"),
        (lambda: VectorizeDense.parse("threads=0"), r"threads=0 is not a count >= 1"),
        (lambda: VectorizeDense(target="x86"), r"unknown target 'x86'"),
        (lambda: RaiseBlocks.parse("block-rows=5"), r"block-rows must be 0 \(auto\), 4 or 8"),
        (lambda: RaiseBlocks.parse("max-density=dense"), r"max-density='dense' is not a number"),
        (lambda: lookup("pattern-gpu-check").parse("profile=mali"), r"unknown SPIR-V profile"),
        (lambda: lookup("pattern-gpu-conv-kernels").parse("staged=maybe"), r"not a boolean"),
        (lambda: lookup("pattern-expand-math")(ops="sin"), r"no expansion of \['math.sin'\]"),
        (lambda: lookup("pattern-apply-tuning")(), r"option db=PATH is required"),
        (
            lambda: lookup("pattern-apply-tuning").parse("db=t.sqlite target=vulkan-adreno"),
            r"target=vulkan-adreno needs cpu=NAME",
        ),
    ],
)
def test_a_bad_option_is_refused_when_the_pass_is_built(build, message):
    with pytest.raises(ValueError, match=message):
        build()


CONV = """func.func @f(%x: tensor<1x1x4x4xf32>, %w: tensor<2x4xf32>) -> tensor<1x2x4x4xf32> {{
  // {annotation}
  %y = pattern.conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5]]> assignment [0, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x1x4x4xf32>, tensor<2x4xf32> -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}}
"""


def _verify(tmp_path, capsys, annotation: str, *flags: str) -> tuple[int, str]:
    path = tmp_path / "input.mlir"
    path.write_text(CONV.format(annotation=annotation))
    status = run_python_pipeline([str(path), "-verify-diagnostics", *flags, "--pattern-pack-fkw"])
    return status, capsys.readouterr().err


def test_verify_diagnostics_accepts_the_located_error(tmp_path, capsys):
    status, err = _verify(tmp_path, capsys, "expected-error @+1 {{needs constant weights}}")
    assert status == 0 and err == ""


@pytest.mark.parametrize(
    "annotation, problems",
    [
        ("expected-error @+2 {{needs constant weights}}", ["unexpected error", "not produced"]),
        ("expected-error @+1 {{needs other weights}}", ["unexpected error", "not produced"]),
        ("expected-warning @+1 {{needs constant weights}}", ["unexpected error", "not produced"]),
        ("no annotation", ["input.mlir:3:8: error: unexpected error: 'pattern.conv2d' needs"]),
        ("expected-error @+1 {{needs constant weights", ["input.mlir:2: error: an expected-*"]),
    ],
    ids=["wrong_line", "wrong_text", "wrong_severity", "none", "unclosed"],
)
def test_verify_diagnostics_fails_on_a_mismatch(tmp_path, capsys, annotation, problems):
    status, err = _verify(tmp_path, capsys, annotation)
    assert status == 1
    for problem in problems:
        assert problem in err


def test_errors_print_at_the_op_line_of_the_whole_file(tmp_path, capsys):
    path = tmp_path / "input.mlir"
    path.write_text(CONV.format(annotation="first") + "// -----\n" + CONV.format(annotation="x"))
    status = run_python_pipeline([str(path), "-split-input-file", "--pattern-pack-fkw"])
    err = capsys.readouterr().err.splitlines()
    assert status == 1
    assert [line.split(": error:")[0].rsplit(":", 2)[1:] for line in err] == [
        ["3", "8"],
        ["11", "8"],
    ]


def test_a_bad_option_fails_before_the_input_is_read(capsys):
    status = run_python_pipeline(["/nonexistent.mlir", "--pattern-vectorize-dense=threads=0"])
    assert status == 1
    assert "threads=0 is not a count >= 1" in capsys.readouterr().err
