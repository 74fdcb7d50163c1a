"""Every op family issue 5 names compiles beside pattern convs and matches torch.

One small network per family group, so a failure names the family: the pattern
convs go through pattern-raise-conv, everything else through the dense path
(pattern-vectorize-dense and upstream linalg lowering).
"""

import pattern_mlir
import pytest
import torch
import torch.nn.functional as F
from conv_cases import relative_error
from pattern_mlir import prune
from torch import nn


class Activations(nn.Module):
    """relu, relu6, sigmoid, tanh, hardswish and softmax after a pattern conv."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.head = nn.Linear(8 * 6 * 6, 10)

    def forward(self, x):
        y = self.conv(x)
        y = torch.cat(
            [F.relu(y[:, :2]), F.relu6(y[:, 2:4]), torch.sigmoid(y[:, 4:6]), torch.tanh(y[:, 6:])],
            dim=1,
        )
        y = F.hardswish(y)
        return torch.softmax(self.head(torch.flatten(y, 1)), dim=1)


class Resampling(nn.Module):
    """Nearest and bilinear upsampling, average and max pooling, concat."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.mix = nn.Conv2d(16, 8, 3, padding=1)

    def forward(self, x):
        y = F.relu(self.bn(self.conv(x)))
        near = F.interpolate(F.max_pool2d(y, 2), scale_factor=2, mode="nearest")
        smooth = F.interpolate(
            F.avg_pool2d(y, 2), scale_factor=2, mode="bilinear", align_corners=False
        )
        return self.mix(torch.cat([near, smooth], dim=1))


class Reshaping(nn.Module):
    """A residual add, permute/transpose, reshape and a depthwise + 1x1 pair."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.depthwise = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.pointwise = nn.Conv2d(4, 6, 1)

    def forward(self, x):
        y = F.relu(self.conv(x)) + x
        y = self.pointwise(self.depthwise(y))
        y = y.permute(0, 2, 3, 1).reshape(1, 36, 6)
        return y.transpose(1, 2).contiguous()


MODELS = {"activations": Activations, "resampling": Resampling, "reshaping": Reshaping}


def _projected(name):
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            with torch.no_grad():
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    spec = prune.project(
        model,
        num_patterns=4,
        connectivity=2.0,
        rules=prune.PruneRules(connectivity_min_in_channels=1),
    )
    assert spec.layers, f"{name}: nothing was projected"
    return model, torch.randn(1, 4, 6, 6)


@pytest.mark.parametrize("target", ["host", "arm64-neon"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_op_family_matches_torch(name, target):
    model, x = _projected(name)
    exe = pattern_mlir.compile(
        model, x, target=target, options=pattern_mlir.CompileOptions(num_threads=1)
    )
    with torch.no_grad():
        expected = model(x)
    assert "pattern.conv2d" in exe.ir("pattern"), f"{name}: no pattern conv was raised"
    assert relative_error(exe(x), expected) <= 1e-4
