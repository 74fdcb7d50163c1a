"""Weights cross to the import child beside a weightless torch.export archive, and come back by name."""

import numpy as np
import torch
from pattern_mlir.frontend.export_weights import restore_weights, shared_blobs, strip_weights
from pattern_mlir.frontend.weight_files import read_arrays, write_arrays


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(64, 64, 3)
        self.register_buffer("scale", torch.rand(64, 1, 1) + 0.5)
        self.offset = torch.rand(64, 1, 1)  # neither parameter nor buffer: a lifted constant

    def forward(self, x):
        return self.conv(x) * self.scale + self.offset


def test_stripped_archive_round_trip_matches_the_model(tmp_path):
    net, x = _Net().eval(), torch.rand(1, 64, 8, 8)
    exported = torch.export.export(net, (x,))
    given = strip_weights(exported)
    assert {"_state_dict/conv.weight", "_state_dict/conv.bias", "_state_dict/scale"} <= given.keys()
    assert any(name.startswith("_constants/") for name in given)
    assert all(v.device.type == "meta" for v in exported.state_dict.values())
    write_arrays(tmp_path / "weights", given)
    torch.export.save(exported, tmp_path / "model.pt2")
    assert (
        tmp_path / "model.pt2"
    ).stat().st_size < net.conv.weight.numel()  # a quarter of the weight bytes: no data inside

    loaded = torch.export.load(tmp_path / "model.pt2")
    restore_weights(loaded, read_arrays(tmp_path / "weights"))
    assert isinstance(loaded.state_dict["conv.weight"], torch.nn.Parameter)
    torch.testing.assert_close(loaded.module()(x), net(x), rtol=0, atol=0)


def test_shared_blobs_names_only_the_very_same_arrays():
    weights = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.ones(4, np.float32)}
    blobs = {
        "same": weights["w"],
        "reshaped": weights["w"].reshape(4, 3),  # same memory, other shape: not the weight
        "copied": weights["b"].copy(),
        "bias": weights["b"][...],
    }
    assert shared_blobs(blobs, weights) == {"same": "w", "bias": "b"}
