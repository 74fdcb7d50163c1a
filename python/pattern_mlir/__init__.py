"""pattern-mlir: a compiler for pattern-pruned CNNs (work in progress skeleton)."""
