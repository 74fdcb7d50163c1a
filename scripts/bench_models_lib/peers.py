"""The whole-model benchmark's dense peers: the layer benchmark's, plus LiteRT.

LiteRT is timed on whole models only (its converter takes a torch module), so it is not in
``bench_peers.summary``'s tuple; the modules of this package that decide which peers are
dense (rounds, summary and so the reports) import from here, so "fastest dense peer"
includes it.
"""

from __future__ import annotations

from bench_peers.summary import DENSE_PEERS as _LAYER_PEERS

__all__ = ["DENSE_PEERS", "python_for"]

DENSE_PEERS = (*_LAYER_PEERS, "litert")


def python_for(module: str) -> str | None:
    """The interpreter a worker module needs when it is not this process's (else None)."""
    if module == "litert_model":
        from .litert_venv import python

        return python()
    return None
