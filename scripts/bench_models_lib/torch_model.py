"""PyTorch eager, dense: the reference output and a dense peer, on the projected weights.

Two variants timed interleaved, as in the layer benchmark: ``nchw`` and ``channels_last``
(docs/design.md section 9); the report takes the faster. The ``nchw`` output
at one thread is the reference every runtime is checked against.
"""

from __future__ import annotations

import torch
from bench_peers.torch_peer import layouts
from pattern_mlir import models

from .worker import run_model_worker

_MODEL: dict = {}


def load_projected(files) -> torch.nn.Module:
    """The zoo model with the projected weights the preparation wrote (eval mode)."""
    model, _ = models.build(files.name)
    model.load_state_dict(torch.load(files.state, weights_only=True))
    return model.eval()


def setup(files, x, threads, args):
    torch.set_num_threads(threads)
    if not _MODEL:
        _MODEL["nchw"] = load_projected(files)
        _MODEL["cl"] = load_projected(files).to(memory_format=torch.channels_last)
    return layouts(_MODEL["nchw"], _MODEL["cl"], x)


def main() -> None:
    torch.set_num_interop_threads(1)
    run_model_worker(
        "torch",
        __doc__.splitlines()[0],
        setup,
        as_array=lambda y: y.contiguous().numpy(),
        info=lambda: {"version": torch.__version__},
    )


if __name__ == "__main__":
    main()
