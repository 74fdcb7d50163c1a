"""The layer benchmark's subject: synthetic pattern-pruned 3x3 convs of VGG-16 and ResNet-50
(``layers``), their one-node ONNX model, the arm64 llvm-mca estimate, and the layer report.
"""
