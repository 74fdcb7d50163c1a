"""Native extension of pattern-mlir (built by CMake, installed here)."""
