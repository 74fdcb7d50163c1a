"""A small vision transformer over image patches (Dosovitskiy et al. 2021, at toy size).

1x28x28 image -> 7x7 patches embedded by a stride-7 conv (16 tokens of width `dim`) plus a
learned position embedding -> `depth` pre-norm `nn.TransformerEncoderLayer`s (multi-head
self-attention, GELU feed-forward) -> mean over tokens -> LayerNorm -> linear classifier.
torch's own encoder layer, so the compiler meets attention exactly as torch.nn writes it;
every layer but the patch embedding is a matmul (the block-sparsity work targets them).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PatchTransformer"]


class PatchTransformer(nn.Module):
    def __init__(
        self,
        image_size: int = 28,
        patch: int = 7,
        channels: int = 1,
        dim: int = 64,
        depth: int = 2,
        heads: int = 4,
        mlp: int = 128,
        num_classes: int = 10,
    ):
        super().__init__()
        if image_size % patch:
            raise ValueError(f"image_size {image_size} is not a multiple of patch {patch}")
        tokens = (image_size // patch) ** 2
        self.embed = nn.Conv2d(channels, dim, patch, stride=patch)
        self.position = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(
            dim, heads, mlp, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        tokens = self.embed(x).flatten(2).transpose(1, 2) + self.position
        return self.head(self.norm(self.encoder(tokens).mean(dim=1)))
