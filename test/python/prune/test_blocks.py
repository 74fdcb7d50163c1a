"""Block sparsity (issue 18): block structure and counts, selection, dense rules, every layer kind,
the spec's block fields through JSON and save/load, ADMM and retraining, and bad arguments."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from pattern_mlir import prune
from pattern_mlir.prune import (
    BlockRules,
    BlockSpec,
    PruneArgumentError,
    PruneError,
    PruneSpec,
    admm,
    project,
    retrain,
    spec_from_weights,
    verify,
)
from pattern_mlir.prune.blocks import block_keep_count, block_scores
from prune_testlib import TinyNet
from torch import nn

ALL = BlockRules(min_weights=0)  # the test models are small: prune every eligible weight
FAST = {"epochs": 2, "retrain_epochs": 1, "rho": 1e-2, "progress": False}


class Mixed(nn.Module):
    """An RGB 7x7 stem, a 3x3 conv, 1x1 and 5x5 convs with 20 outputs (20 % 8 != 0), a depthwise
    conv and a linear head: every conv kind the rules tell apart."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 7, padding=3)
        self.c3 = nn.Conv2d(16, 16, 3, padding=1)
        self.point = nn.Conv2d(16, 20, 1)
        self.wide = nn.Conv2d(20, 20, 5, padding=2)
        self.depthwise = nn.Conv2d(20, 20, 3, padding=1, groups=20)
        self.head = nn.Linear(20, 5)

    def forward(self, x):
        x = torch.relu(self.c3(torch.relu(self.stem(x))))
        x = self.depthwise(torch.relu(self.wide(torch.relu(self.point(x)))))
        return self.head(x.mean((2, 3)))


class Sequence(nn.Module):
    """Recurrent and attention layers: no 3x3 conv at all."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(12, 16, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(32, 16, batch_first=True)
        self.rnn = nn.RNN(16, 16, batch_first=True)
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.cross = nn.MultiheadAttention(16, 2, kdim=8, vdim=8, batch_first=True)
        self.encoder = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        x, _ = self.lstm(x)
        x, _ = self.gru(x)
        x, _ = self.rnn(x)
        x = x + self.attn(x, x, x, need_weights=False)[0]
        kv = x[..., :8]
        x = x + self.cross(x, kv, kv, need_weights=False)[0]
        return self.head(self.encoder(x)[:, -1])


def _blocks_of(w: torch.Tensor, rows: int) -> np.ndarray:
    """(row blocks, I) bool: which blocks hold a non-zero."""
    w = w.detach().reshape(w.shape[0], w.shape[1], -1).ne(0).any(-1)
    nb = -(-w.shape[0] // rows)
    pad = torch.zeros(nb * rows - w.shape[0], w.shape[1], dtype=torch.bool)
    return torch.cat([w, pad]).reshape(nb, rows, -1).any(1).numpy()


def _check_structure(model, spec):
    params = dict(model.named_parameters())
    for name, b in spec.blocks.items():
        w = params[name]
        nonzero = _blocks_of(w, b.rows)
        assert np.array_equal(nonzero, b.mask), name  # kept blocks non-zero, removed all zero
        assert b.kept_blocks == block_keep_count(b.num_blocks, spec.block_sparsity), name


def test_masks_are_whole_blocks_with_the_right_count():
    torch.manual_seed(0)
    model = Mixed()
    spec = project(model, 4, 2.0, block_sparsity=0.75, block_rules=ALL)
    assert list(spec.layers) == ["c3"]
    assert list(spec.blocks) == ["point.weight", "wide.weight", "head.weight"]  # stem: RGB
    b = spec.blocks["wide.weight"]
    assert b.kind == "conv" and b.shape == (20, 20, 5, 5) and b.mask.shape == (3, 20)
    assert b.kept_blocks == 15  # round(0.25 * 60)
    assert spec.blocks["head.weight"].mask.shape == (1, 20)
    assert spec.block_sparsity == 0.75 and spec.block_rows == 8
    _check_structure(model, spec)
    verify(model, spec)
    # the short last row block (rows 16..19) is a block like any other: whole or zero
    w = model.wide.weight.detach()
    for i in range(20):
        tail = w[16:20, i]
        assert bool(tail.ne(0).all() if b.mask[2, i] else tail.eq(0).all())


def test_kept_blocks_are_the_largest_by_l2_norm():
    torch.manual_seed(1)
    w = torch.randn(20, 6, 3, 1)
    mask = prune.select_blocks(w, 8, 0.5)
    scores = block_scores(w, 8).numpy()
    brute = np.zeros(18, dtype=bool)
    brute[np.argsort(-scores.ravel(), kind="stable")[:9]] = True
    assert np.array_equal(mask, brute.reshape(3, 6))
    by_hand = w[16:20, 2].square().sum()  # last, short row block, column 2
    assert scores[2, 2] == pytest.approx(float(by_hand))


@pytest.mark.parametrize(
    ("sparsity", "blocks", "kept"), [(0.75, 10, 3), (0.9, 10, 1), (0.99, 4, 1)]
)
def test_keep_count_rounds_half_up_and_keeps_one(sparsity, blocks, kept):
    assert block_keep_count(blocks, sparsity) == kept


def test_block_sparsity_zero_is_todays_behaviour(tiny):
    other = copy.deepcopy(tiny)
    a = project(tiny, 4, 2.0)
    b = project(other, 4, 2.0, block_sparsity=0)
    assert a == b and not b.blocks and b.to_json() == a.to_json()
    assert json.loads(b.to_json())["version"] == 1 and "blocks" not in json.loads(b.to_json())
    for x, y in zip(tiny.state_dict().values(), other.state_dict().values()):
        assert torch.equal(x, y)


def test_default_rules_leave_small_layers_dense(tiny):
    """TinyNet's 1x1 conv (64 weights) and head (24) are under the 4096-weight default."""
    spec = project(tiny, 4, 2.0, block_sparsity=0.75)
    assert not spec.blocks and list(spec.layers) == ["c1", "c2", "c3"]
    spec = project(copy.deepcopy(tiny), 4, 2.0, block_sparsity=0.75, block_rules=ALL)
    assert list(spec.blocks) == ["point.weight", "head.weight"]


def test_recurrent_and_attention_weights_are_pruned():
    torch.manual_seed(0)
    model = Sequence()
    spec = project(model, block_sparsity=0.75, block_rules=ALL)
    assert not spec.layers and spec.num_patterns == 0
    kinds = {n: b.kind for n, b in spec.blocks.items()}
    for layer in range(2):
        for suffix in ("", "_reverse"):
            for m in ("ih", "hh"):
                assert kinds[f"lstm.weight_{m}_l{layer}{suffix}"] == "lstm"
    assert kinds["gru.weight_ih_l0"] == kinds["gru.weight_hh_l0"] == "gru"
    assert kinds["rnn.weight_hh_l0"] == "rnn"
    assert kinds["attn.in_proj_weight"] == "attention" and kinds["attn.out_proj.weight"] == "linear"
    assert {"cross.q_proj_weight", "cross.k_proj_weight", "cross.v_proj_weight"} <= set(kinds)
    for n in ("self_attn.in_proj_weight", "self_attn.out_proj.weight", "linear1.weight"):
        assert f"encoder.{n}" in kinds
    assert "encoder.linear2.weight" in kinds and "head.weight" in kinds
    assert not any("bias" in n for n in kinds)
    assert spec.blocks["lstm.weight_hh_l0"].shape == (64, 16)  # 4 gates x 16 rows
    _check_structure(model, spec)
    with torch.no_grad():  # still a working model
        assert torch.isfinite(model(torch.randn(2, 5, 12))).all()


def test_dense_rules():
    torch.manual_seed(0)
    stem_too = project(
        Mixed(),
        4,
        2.0,
        block_sparsity=0.5,
        block_rules=BlockRules(min_weights=0, stem_in_channels=0),
    )
    assert "stem.weight" in stem_too.blocks and "depthwise.weight" not in stem_too.blocks
    named = project(Mixed(), 4, 2.0, block_sparsity=0.5, dense_layers=("head", "wide.weight"),
                    block_rules=ALL)  # fmt: skip
    assert list(named.blocks) == ["point.weight"]
    sub = project(Sequence(), block_sparsity=0.5, dense_layers=("encoder", "lstm"), block_rules=ALL)
    assert not any(n.startswith(("encoder.", "lstm.")) for n in sub.blocks)
    assert "gru.weight_hh_l0" in sub.blocks
    big = project(Mixed(), 4, 2.0, block_sparsity=0.5, block_rules=BlockRules(min_weights=400))
    assert list(big.blocks) == ["wide.weight"]  # point 320, head 100 weights: too small
    # block_rows / dense_layers given directly win over block_rules'
    four = project(Mixed(), 4, 2.0, block_sparsity=0.5, block_rows=4,
                   block_rules=BlockRules(min_weights=0, rows=16, dense_layers=("head",)))  # fmt: skip
    assert four.block_rows == 4 and four.blocks["wide.weight"].mask.shape == (5, 20)
    assert "head.weight" not in four.blocks


@pytest.mark.parametrize("rows", [1, 4, 16])
def test_other_block_heights(rows):
    torch.manual_seed(0)
    model = Mixed()
    spec = project(model, 4, 2.0, block_sparsity=0.75, block_rows=rows, block_rules=ALL)
    assert spec.block_rows == rows
    assert spec.blocks["wide.weight"].mask.shape == (-(-20 // rows), 20)
    _check_structure(model, spec)


def test_spec_round_trips_through_json_and_save_load(tmp_path):
    torch.manual_seed(0)
    model = Mixed()
    spec = project(model, 4, 2.0, block_sparsity=0.75, block_rows=4, block_rules=ALL)
    doc = json.loads(spec.to_json())
    assert doc["version"] == 2 and doc["block_sparsity"] == 0.75 and doc["block_rows"] == 4
    assert doc["blocks"][1]["name"] == "wide.weight" and len(doc["blocks"][1]["mask"]) == 5
    back = PruneSpec.from_json(spec.to_json())
    assert back == spec and back.blocks["wide.weight"].mask.dtype == bool
    changed = PruneSpec.from_json(spec.to_json())
    changed.blocks["point.weight"].mask[0, 0] ^= True
    assert changed != spec
    prune.save(tmp_path / "m", model, spec)
    fresh = Mixed()
    _, loaded = prune.load(tmp_path / "m", fresh)
    assert loaded == spec
    verify(fresh, loaded)


def test_block_spec_validation():
    with pytest.raises(ValueError, match=r"mask must have shape \(3, 4\)"):
        BlockSpec("w", "linear", (20, 4), 8, np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="kind must be one of"):
        BlockSpec("w", "embedding", (20, 4), 8, np.ones((3, 4), bool))
    with pytest.raises(ValueError, match="block_rows must be an integer >= 1, got 0"):
        BlockSpec("w", "linear", (20, 4), 0, np.ones((3, 4), bool))
    with pytest.raises(ValueError, match="strings of 0 and 1"):
        BlockSpec.from_dict({"name": "w", "kind": "linear", "shape": [8, 2], "rows": 8,
                             "mask": ["12"]})  # fmt: skip
    b = BlockSpec("w", "conv", (20, 2, 1, 1), 8, np.array([[1, 0], [0, 0], [0, 1]]))
    assert b.kept_weights == 8 + 4 and b.weight_mask().shape == (20, 2, 1, 1)
    assert b.weight_mask()[16:, 1].all() and not b.weight_mask()[:16, 1].any()


def test_verify_names_the_offending_block():
    torch.manual_seed(0)
    model = Mixed()
    spec = project(model, 4, 2.0, block_sparsity=0.75, block_rules=ALL)
    i = int(np.flatnonzero(~spec.blocks["wide.weight"].mask[2])[0])
    with torch.no_grad():
        model.wide.weight[17, i, 0, 3] = 0.5
    with pytest.raises(
        ValueError,
        match=rf"block layer 'wide.weight': weight\[17, {i}, 0, 3\] = 0.5 is non-zero but "
        rf"block \[2, {i}\] \(rows 16..19, column {i}\) was removed",
    ):
        verify(model, spec)


def test_spec_from_weights_recovers_blocks():
    torch.manual_seed(0)
    model = Mixed()
    spec = project(model, 4, 2.0, block_sparsity=0.75, block_rules=ALL)
    lib = spec["c3"].library
    back = spec_from_weights(model, lib, block_rows=8)
    assert back.layers.keys() == spec.layers.keys() and back.blocks == spec.blocks
    assert back.block_sparsity == pytest.approx(
        1
        - sum(b.kept_blocks for b in spec.blocks.values())
        / sum(b.num_blocks for b in spec.blocks.values())
    )
    only = spec_from_weights(model, None, block_rows=8, block_layers=["wide"])
    assert list(only.blocks) == ["wide.weight"] and not only.layers
    assert spec_from_weights(model, lib) == spec_from_weights(model, lib)  # patterns only as before
    with pytest.raises(PruneArgumentError, match="block_layers: 'c3'"):
        spec_from_weights(model, None, block_rows=8, block_layers=["c3"])


def test_admm_ends_with_exact_block_structure(batches):
    torch.manual_seed(0)
    model = TinyNet()
    records = []
    spec = admm(model, batches, 4, 2.0, block_sparsity=0.5, block_rules=ALL, **FAST,
                callback=records.append)  # fmt: skip
    assert list(spec.blocks) == ["point.weight", "head.weight"] and list(spec.layers)
    _check_structure(model, spec)
    verify(model, spec)
    assert [r["phase"] for r in records] == ["admm", "admm", "hard-prune", "retrain"]
    torch.manual_seed(0)
    other = TinyNet()
    again = admm(other, batches, 4, 2.0, block_sparsity=0.5, block_rules=ALL, **FAST)
    assert again == spec  # deterministic


def test_admm_on_a_model_without_3x3_convs(batches):
    class Flat(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(8, 16, batch_first=True)
            self.head = nn.Linear(16, 3)

        def forward(self, x):
            return self.head(self.lstm(x[:, 0])[0][:, -1])

    torch.manual_seed(0)
    model = Flat()
    spec = admm(model, batches, block_sparsity=0.75, block_rules=ALL, **FAST)
    assert not spec.layers and set(spec.blocks) == {
        "lstm.weight_ih_l0",
        "lstm.weight_hh_l0",
        "head.weight",
    }
    _check_structure(model, spec)
    with pytest.raises(ValueError, match="no eligible layer to prune"):
        project(Flat(), block_sparsity=0.75)  # every weight under 4096: nothing left


def test_retrain_keeps_blocks_zero_and_trains(batches):
    torch.manual_seed(0)
    model = TinyNet()
    spec = project(model, 4, 2.0, block_sparsity=0.5, block_rules=ALL)
    before = model.point.weight.detach().clone()
    retrain(model, batches, spec, epochs=1, lr=1e-2, optimizer="sgd", weight_decay=1e-3,
            progress=False)  # fmt: skip
    _check_structure(model, spec)
    assert not torch.equal(before, model.point.weight)


def test_conv_costs_count_kept_block_weights():
    torch.manual_seed(0)
    model = Mixed()
    x = torch.randn(1, 3, 8, 8)
    dense = prune.conv_costs(model, x)
    spec = project(model, 4, 2.0, block_sparsity=0.75, block_rules=ALL)
    costs = prune.conv_costs(model, x, spec)
    wide = spec.blocks["wide.weight"]
    assert costs["macs"] < dense["macs"] and wide.kept_weights < 20 * 20 * 25
    assert dense["macs"] - costs["macs"] >= (20 * 20 * 25 - wide.kept_weights) * 64


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"block_sparsity": 1.0}, r"block_sparsity must be a number in \[0, 1\).*got 1.0"),
        ({"block_sparsity": -0.1}, r"block_sparsity .* got -0.1"),
        ({"block_sparsity": float("nan")}, r"block_sparsity .* got nan"),
        ({"block_sparsity": "0.5x"}, r"block_sparsity .* got '0.5x'"),
        ({"block_sparsity": True}, r"block_sparsity .* got True"),
        ({"block_sparsity": 0.5, "block_rows": 0}, r"block_rows must be an integer >= 1.*got 0"),
        ({"block_sparsity": 0.5, "block_rows": 2.5}, r"block_rows .* got 2.5"),
        ({"block_sparsity": 0.5, "dense_layers": ("nope",)}, "dense_layers: no module or parameter named 'nope'"),
        ({"block_sparsity": 0.5, "dense_layers": "head"}, r"dense_layers must be a sequence.*\('head',\)"),
        ({"block_sparsity": 0.5, "dense_layers": ("c3",)}, r"dense_layers: 'c3' \(Conv2d\) holds no block-eligible"),
        ({"block_sparsity": 0.5, "block_rules": BlockRules(min_weights=-1)},
         "block_rules.min_weights must be an integer >= 0, got -1"),
    ],
)  # fmt: skip
def test_bad_arguments(kwargs, msg, batches):
    for call in (
        lambda: project(Mixed(), 4, 2.0, **kwargs),
        lambda: admm(TinyNet(), batches, **FAST, **kwargs),
    ):
        with pytest.raises(PruneArgumentError, match=msg) as info:
            call()
        assert isinstance(info.value, PruneError) and isinstance(info.value, ValueError)


def test_data_free_checks_block_arguments_first():
    model = TinyNet()  # its BatchNorm never saw a batch: it would fail later, differently
    with pytest.raises(PruneArgumentError, match="block_rows"):
        prune.data_free(model, input_shape=(1, 8, 8), block_sparsity=0.5, block_rows=-1)
