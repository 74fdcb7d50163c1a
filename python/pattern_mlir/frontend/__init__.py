"""PyTorch models in: BatchNorm folding, decompositions, torch.export, and torch-mlir's FX
importer in a child process, giving linalg-on-tensors text and the weights as arrays."""
