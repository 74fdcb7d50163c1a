"""What the orchestrator and the reports know of each peer, without importing its runtime.

The adapters in ``peers/`` import their runtimes (onnxruntime, MNN, ...) at the top; the
orchestrating process and the reports never load one, so the facts they need live here.
"""

from __future__ import annotations

__all__ = [
    "COLOURS",
    "DENSE_PEERS",
    "HEADLINE",
    "LAYER_DENSE_PEERS",
    "LAYER_PEERS",
    "NAMES",
    "TOLERANCE",
]

# The layer benchmark's default peers, in run order (pattern and torch first: torch gives the
# reference output).
LAYER_PEERS = ("pattern", "torch", "ort", "mnn")
# Dense peers a layer can be run by; whole models add LiteRT (its converter takes a torch
# module, so it has no layer adapter). "Fastest dense peer" is taken over these.
LAYER_DENSE_PEERS = ("torch", "ort", "mnn", "iree")
DENSE_PEERS = (*LAYER_DENSE_PEERS, "litert")

# Variant behind a peer's headline figure; None: the faster of its variants.
HEADLINE = {
    "pattern": "call",
    "torch": None,
    "ort": "run",
    "mnn": "forward",
    "iree": "run",
    "litert": "run",
}

# Correctness bounds against torch: (metric, bound). "max" = max|y - ref| / max|ref|.
TOLERANCE = {"pattern": ("rel_l2", 1e-4), "torch": ("max", 1e-3), "ort": ("max", 1e-3)}
TOLERANCE["mnn"] = ("rel_l2", 1e-3)  # Winograd: about 3e-4 expected (docs/design.md section 9)
TOLERANCE["iree"] = ("max", 1e-3)
TOLERANCE["litert"] = ("max", 1e-3)

NAMES = {
    "pattern": "pattern-mlir",
    "torch": "torch",
    "ort": "ORT",
    "mnn": "MNN",
    "iree": "IREE",
    "litert": "LiteRT",
}
COLOURS = {
    "torch": "#ee4c2c",
    "ort": "#7f7f7f",
    "mnn": "#1f77b4",
    "iree": "#9467bd",
    "litert": "#ff7f0e",
}
