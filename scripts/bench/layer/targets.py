"""Targets of issue 4 item 4, which the layer report checks and its plot marks."""

VGG_OVER_MNN = 2.0  # every VGG-16 conv this many times faster than MNN
VGG_PEAK = 0.60  # VGG-16 convs' useful GFLOP/s as a share of the FMA-loop peak
RESNET_OVER_MNN = 1.5  # every ResNet-50 3x3 conv this many times faster than MNN
ARM64_BOUND = 0.85  # arm64 inner loops as a share of the FMA bound (llvm-mca)
