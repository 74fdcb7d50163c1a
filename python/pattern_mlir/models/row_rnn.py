"""A recurrent classifier that reads an image row by row (an LSTM or a GRU over 28 steps).

1x1x28x28 image -> 28 rows of 28 pixels as a sequence -> `layers` stacked LSTM (or GRU)
layers of `hidden` units -> the last step's state -> linear classifier. The gate matrices
are the weights the block-sparsity work targets in recurrent networks.
"""

from __future__ import annotations

from torch import nn

__all__ = ["RowRNN"]


class RowRNN(nn.Module):
    def __init__(
        self,
        image_size: int = 28,
        hidden: int = 64,
        layers: int = 2,
        cell: str = "lstm",
        num_classes: int = 10,
    ):
        super().__init__()
        kinds = {"lstm": nn.LSTM, "gru": nn.GRU}
        if cell not in kinds:
            raise ValueError(f"cell must be one of {sorted(kinds)}, got {cell!r}")
        self.rnn = kinds[cell](image_size, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x):
        rows = x.flatten(1, 2)  # (N, 1, H, W) -> (N, H, W): rows are the time steps
        out, _ = self.rnn(rows)
        return self.head(out[:, -1])
