"""Automatic colorization network of Iizuka, Simo-Serra & Ishikawa, "Let there be Color!: Joint
End-to-end Learning of Global and Local Image Priors for Automatic Image Colorization with
Simultaneous Classification" (SIGGRAPH 2016), the network behind the CoCoPIE colorization demo.

The input is the L (lightness) channel of a Lab image; the output is the two chroma channels
(a, b), scaled to [0, 1] by a sigmoid. Four parts, as in Table 1 of the paper (all 3x3 convs,
BatchNorm + ReLU after each but the last):
- low-level features, shared by the two paths below: six convs, three of stride 2 (H/8, 512);
- mid-level features (local): two convs (512, 256) at H/8;
- global features: four convs (two of stride 2, H/32) then linear 1024 -> 512 -> 256: one
  256-vector describing the whole image;
- fusion: the global vector is broadcast to every H/8 position and concatenated with the
  mid-level features, then mixed by a 1x1 conv (the paper's per-pixel fully connected layer);
- colorization: convs with two nearest-neighbour x2 upsamplings, a 2-channel sigmoid output at
  H/2, and a final x2 upsampling back to H x W.
The paper runs the global path on a copy of the image rescaled to 224x224 so that any size
works; here both paths read the same low-level features, so the global path's first linear layer
is sized for `input_size` (exactly the paper's network at 224). The classification branch (a
training-time auxiliary loss on the Places labels) is left out: it plays no part in inference.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ColorizationNet"]


def _conv(cin: int, cout: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class ColorizationNet(nn.Module):
    """L channel (N, 1, S, S) -> ab channels (N, 2, S, S), S = `input_size`, a multiple of 32."""

    def __init__(self, input_size: int = 224):
        super().__init__()
        if input_size % 32:
            raise ValueError(
                f"ColorizationNet input_size must be a multiple of 32, got {input_size}"
            )
        self.low = nn.Sequential(
            _conv(1, 64, 2), _conv(64, 128), _conv(128, 128, 2),
            _conv(128, 256), _conv(256, 256, 2), _conv(256, 512),
        )  # fmt: skip
        self.mid = nn.Sequential(_conv(512, 512), _conv(512, 256))
        self.global_conv = nn.Sequential(
            _conv(512, 512, 2), _conv(512, 512), _conv(512, 512, 2), _conv(512, 512)
        )
        side = input_size // 32
        self.global_fc = nn.Sequential(
            nn.Linear(512 * side * side, 1024), nn.ReLU(inplace=True),
            nn.Linear(1024, 512), nn.ReLU(inplace=True),
            nn.Linear(512, 256), nn.ReLU(inplace=True),
        )  # fmt: skip
        self.fusion = _conv(512, 256, kernel=1)
        self.color = nn.Sequential(
            _conv(256, 128),
            nn.Upsample(scale_factor=2, mode="nearest"),
            _conv(128, 64),
            _conv(64, 64),
            nn.Upsample(scale_factor=2, mode="nearest"),
            _conv(64, 32),
            nn.Conv2d(32, 2, 3, padding=1),
            nn.Sigmoid(),
            nn.Upsample(scale_factor=2, mode="nearest"),
        )

    def forward(self, x):
        low = self.low(x)
        local = self.mid(low)
        g = self.global_fc(self.global_conv(low).flatten(1))
        g = g[:, :, None, None].expand(-1, -1, local.shape[2], local.shape[3])
        return self.color(self.fusion(torch.cat([local, g], dim=1)))
