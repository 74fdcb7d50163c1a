"""Integer inputs and results: token ids into an nn.Embedding, runtime indices, argmax.

An id out of its table's range is a ValueError before the generated code runs
(compiler/index_bounds.py): the code would abort the process (Embedding's assert) or read
outside the table (index_select, indexing), where torch raises an IndexError."""

from __future__ import annotations

import pattern_mlir
import pytest
import torch
from pattern_mlir.runtime.call_signature import SignatureFormatError, TensorSpec
from pattern_mlir.testing import relative_error


class TokenClassifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(50, 32)
        self.encoder = torch.nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
        self.head = torch.nn.Linear(32, 5)

    def forward(self, ids):
        return self.head(self.encoder(self.embed(ids)).mean(1))


class Lookups(torch.nn.Module):
    """index_select and indexing with negative ids (wrapped), an int32 input, int64 out."""

    def __init__(self):
        super().__init__()
        self.table = torch.nn.Parameter(torch.randn(30, 4))

    def forward(self, rows, signed, small):
        picked = self.table.index_select(0, rows) + self.table[signed]
        return picked.argmax(1), picked * small.to(torch.float32)


def _lookup_inputs():
    return (
        torch.randint(0, 30, (6,)),
        torch.tensor([0, -1, 5, -30, 29, 7]),
        torch.randint(-3, 3, (6, 1), dtype=torch.int32),
    )


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
def test_token_ids_into_an_embedding_match_torch(target):
    torch.manual_seed(0)
    model, ids = TokenClassifier().eval(), torch.randint(0, 50, (2, 10))
    exe = pattern_mlir.compile(model, (ids,), target=target)
    assert exe.inputs[0].dtype == "int64" and exe.inputs[0].bounds == (0, 50)
    with torch.no_grad():
        assert relative_error(exe(ids), model(ids)) <= 1e-5


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
def test_runtime_indices_and_integer_results_match_torch(target):
    torch.manual_seed(1)
    model, inputs = Lookups().eval(), _lookup_inputs()
    exe = pattern_mlir.compile(model, inputs, target=target)
    assert [s.bounds for s in exe.inputs] == [(0, 30), (-30, 30), None]
    with torch.no_grad():
        want = model(*inputs)
    got = exe(*inputs)
    assert got[0].dtype == torch.int64 and torch.equal(got[0], want[0])
    assert relative_error(got[1], want[1]) <= 1e-6


def test_ids_out_of_range_raise_and_the_process_lives_on(tmp_path):
    torch.manual_seed(2)
    embed = torch.nn.Embedding(50, 8).eval()
    ids = torch.randint(0, 50, (2, 6))
    exe = pattern_mlir.compile(embed, (ids,))
    loaded = pattern_mlir.load(exe.save(tmp_path / "embed"))
    assert loaded.inputs[0].bounds == (0, 50)
    for runner in (exe, loaded):
        for wrong in (50, -1, 10**12):
            bad = ids.clone()
            bad[1, 3] = wrong
            with pytest.raises(ValueError, match=rf"holds {wrong}; .* \[0, 50\)"):
                runner(bad)
            with pytest.raises(ValueError, match=rf"holds {wrong}"):
                runner.run(bad.numpy())
        assert torch.equal(runner(ids), embed(ids))
    lookups = pattern_mlir.compile(Lookups().eval(), _lookup_inputs())
    rows, signed, small = _lookup_inputs()
    with pytest.raises(ValueError, match=r"holds 30; .* \[0, 30\)"):
        lookups(torch.full_like(rows, 30), signed, small)
    with pytest.raises(ValueError, match=r"holds -31; .* \[-30, 30\)"):
        lookups(rows, torch.full_like(signed, -31), small)


def test_integer_inputs_are_refused_on_the_gpu_target_naming_them():
    embed = torch.nn.Embedding(20, 8).eval()
    with pytest.raises(pattern_mlir.CompileError, match="input 0 of @forward is int64"):
        pattern_mlir.compile(embed, (torch.randint(0, 20, (2, 5)),), target="vulkan-adreno")


@pytest.mark.parametrize(
    "data",
    [
        {"shape": [2], "dtype": "float32", "bounds": [0, 5]},
        {"shape": [2], "dtype": "int64", "bounds": [5, 5]},
        {"shape": [2], "dtype": "int64", "bounds": [0]},
        {"shape": [2], "dtype": "int64", "bounds": [0.5, 3]},
        {"shape": [2], "dtype": "int64", "range": [0, 3]},
    ],
)
def test_malformed_bounds_are_refused(data):
    with pytest.raises(SignatureFormatError):
        TensorSpec.from_json(data)


def test_bounds_round_trip_through_json():
    spec = TensorSpec((2, 3), "int64", (-7, 9))
    assert TensorSpec.from_json(spec.to_json()) == spec
    assert "bounds" not in TensorSpec((2,), "float32").to_json()
