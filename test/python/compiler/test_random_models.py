"""A seeded slice of scripts/fuzz_models.py: random models compile and match torch.

The seeds of one test run side by side in one model (`random_models.combine`), so each test
costs one compile; a failure names the seeds, and `scripts/fuzz_models.py --case SEED` (with
`--target arm64-neon` for the arm64 ones) reproduces one alone. Together the seeds cover every
op family of `random_models.FAMILIES` (checked below), with and without pattern projection.
"""

import pattern_mlir
import pytest
import torch
from pattern_mlir import prune
from pattern_mlir.testing import FAMILIES, combine, random_case, relative_error

# (target, seeds, pattern-project the 3x3 convs)
GROUPS = [
    ("host", (3, 12, 50, 65), True),
    ("host", (6, 19, 60, 66), False),
    ("host", (1, 32, 49, 59), True),
    ("arm64-neon", (16, 79), True),
]


def _case(seeds, project):
    case = combine([random_case(s) for s in seeds])
    if project:
        assert prune.eligible_convs(case.model), f"seeds {seeds}: no 3x3 conv to project"
        prune.project(
            case.model,
            num_patterns=4,
            connectivity=2.0,
            rules=prune.PruneRules(connectivity_min_in_channels=1),
        )
    return case


def test_seeds_cover_every_family():
    seen = {f for _, seeds, _ in GROUPS for s in seeds for f in random_case(s).families}
    assert seen == set(FAMILIES), f"no seed draws {sorted(set(FAMILIES) - seen)}"


def test_generated_models_run_in_torch():
    """Shapes are valid by construction: every model runs, also on fresh inputs, and stays
    finite; symbolic tracing (what BatchNorm folding uses) wires it the same."""
    from pattern_mlir.frontend.torch_import import fold_batchnorm

    for seed in range(40):
        case = random_case(seed)
        with torch.no_grad():
            inputs = case.random_inputs(seed + 1)
            expected = case.model(*inputs)
            folded = fold_batchnorm(case.model)(*inputs)
        expected = expected if isinstance(expected, tuple) else (expected,)
        folded = folded if isinstance(folded, tuple) else (folded,)
        assert all(torch.isfinite(y).all() for y in expected), case.description
        assert max(relative_error(f, e) for f, e in zip(folded, expected)) <= 1e-5, case.description


def test_relative_error_flags_non_finite_results():
    expected = torch.tensor([1.0, -2.0, float("nan"), float("inf")])
    assert relative_error(expected.clone(), expected) == 0.0
    assert relative_error(torch.tensor([1.0, -2.0, 0.0, float("inf")]), expected) == float("inf")
    assert relative_error(torch.tensor([1.0, float("nan")]), torch.tensor([1.0, 2.0])) == float(
        "inf"
    )
    assert relative_error(torch.tensor([1.0, -2.0002]), torch.tensor([1.0, -2.0])) == pytest.approx(
        1e-4, rel=1e-3
    )


def test_generation_is_deterministic():
    a, b = random_case(1234), random_case(1234)
    assert a.description == b.description
    assert all(torch.equal(x, y) for x, y in zip(a.inputs, b.inputs))
    assert all(
        torch.equal(x, y)
        for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values())
    )


@pytest.mark.parametrize(
    ("target", "seeds", "project"),
    GROUPS,
    ids=[f"{t}-{'-'.join(map(str, s))}" for t, s, _ in GROUPS],
)
def test_random_models_match_torch(target, seeds, project):
    case = _case(seeds, project)
    exe = pattern_mlir.compile(
        case.model, case.inputs, target=target, options=pattern_mlir.CompileOptions(num_threads=1)
    )
    if project:
        assert "pattern.conv2d" in exe.ir("pattern"), f"seeds {seeds}: no pattern conv was raised"
    for inputs in (case.inputs, case.random_inputs(1)):
        with torch.no_grad():
            expected = case.model(*inputs)
        got = exe(*inputs)
        got = got if isinstance(got, tuple) else (got,)
        errors = [relative_error(g, e) for g, e in zip(got, expected)]
        assert len(got) == len(expected) and max(errors) <= 1e-4, (
            f"seeds {seeds} on {target}: relative errors {errors}\n{case.description}"
        )
