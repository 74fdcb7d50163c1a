"""The spec as data: validation, JSON round trip, and save/load through JSON + safetensors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from pattern_mlir.prune import LayerSpec, PruneSpec, candidate_patterns, load, project, save
from safetensors.torch import load_file


def test_layer_spec_fields_and_mask():
    lib = candidate_patterns()[[3, 5]]
    s = LayerSpec("conv", lib, np.array([[0, -1], [1, 0]]))
    assert s.library.dtype == bool and s.assignment.dtype == np.int32
    assert s.kept_kernels == 3 and s.connectivity == pytest.approx(4 / 3)
    m = s.mask()
    assert m.shape == (2, 2, 3, 3)
    assert np.array_equal(m[0, 0], lib[0]) and not m[0, 1].any() and np.array_equal(m[1, 0], lib[1])


@pytest.mark.parametrize(
    ("assignment", "msg"),
    [
        (np.array([[0, 2]]), r"assignment\[0, 1\] = 2 is not -1 or a pattern id in 0..1"),
        (np.array([[-2, 0]]), r"assignment\[0, 0\] = -2"),
        (np.array([0, 1]), r"\(O, I\) array"),
        (np.array([[0.0, 1.0]]), "integers"),
    ],
)
def test_layer_spec_rejects_bad_assignment(assignment, msg):
    with pytest.raises(ValueError, match=f"layer 'conv': .*{msg}"):
        LayerSpec("conv", candidate_patterns()[:2], assignment)


def test_json_round_trip(tiny):
    spec = project(tiny, num_patterns=5, connectivity=2.5)
    text = spec.to_json()
    doc = json.loads(text)
    assert doc["format"] == "pattern-mlir.prune-spec" and [
        d["name"] for d in doc["layers"]
    ] == list(spec.layers)
    back = PruneSpec.from_json(text)
    assert back == spec and back.connectivity == 2.5 and back.num_patterns == 5
    assert list(back.layers) == list(spec.layers)
    changed = PruneSpec.from_json(text)
    changed["c2"].assignment[0, 0] = -1 if spec["c2"].assignment[0, 0] >= 0 else 0
    assert changed != spec


def test_from_json_rejects_other_documents():
    with pytest.raises(ValueError, match="not a pattern-mlir.prune-spec"):
        PruneSpec.from_json('{"format": "something", "layers": []}')


def test_save_load_round_trip(tiny, tmp_path):
    spec = project(tiny, connectivity=3.0)
    save(tmp_path / "m", tiny, spec)
    assert json.loads((tmp_path / "m" / "spec.json").read_text())["version"] == 1
    assert set(load_file(tmp_path / "m" / "model.safetensors")) == set(tiny.state_dict())
    fresh = type(tiny)()
    state, back = load(tmp_path / "m", fresh)
    assert back == spec
    for k, v in tiny.state_dict().items():
        assert torch.equal(state[k], v) and torch.equal(fresh.state_dict()[k], v)


def test_save_refuses_weights_that_break_the_spec(tiny, tmp_path):
    spec = project(tiny)
    with torch.no_grad():
        tiny.c2.weight.fill_(1.0)
    with pytest.raises(ValueError, match="layer 'c2'"):
        save(tmp_path / "m", tiny, spec)


def test_load_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="spec.json"):
        load(tmp_path)


def test_a_failed_save_leaves_the_previous_model_whole(tiny, tmp_path):
    spec = project(tiny, connectivity=3.0)
    save(tmp_path / "m", tiny, spec, metadata={"run": 1})
    (tmp_path / "m" / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()}
    with pytest.raises(TypeError, match="not JSON serializable"):
        save(tmp_path / "m", tiny, spec, metadata={"run": object()})
    after = {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()}
    assert after == before  # old pair intact, no temporary files left, other files untouched
    save(tmp_path / "m", tiny, spec, metadata={"run": 2})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "model.safetensors",
        "notes.txt",
        "spec.json",
    ]
