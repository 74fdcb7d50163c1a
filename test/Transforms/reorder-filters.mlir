// RUN: pattern-opt %s --pattern-reorder-filters | FileCheck %s
// RUN: pattern-opt %s --pattern-reorder-filters --pattern-pack-fkw | FileCheck %s --check-prefix=PACKED

// Five filters over three input channels, two patterns. Kept kernels per filter
// (pattern 0, pattern 1): f0 1 (1, 0), f1 3 (1, 2), f2 2 (1, 1), f3 3 (1, 2),
// f4 2 (0, 2). Most kernels first; equal counts by pattern mix (more of pattern 0
// first), equal mixes in original order: f1, f3, f2, f4, f0.
// CHECK-LABEL: func.func @forward
// CHECK: pattern.conv2d
// CHECK-SAME: pattern.filter_order = array<i32: 1, 3, 2, 4, 0>

// Packing follows that order: the runs of f1 (1 + 2 kernels) come first, f0's last.
// PACKED: pattern.packed_conv2d
// PACKED-SAME: filter_order [1, 3, 2, 4, 0] offsets [0, 1, 3, 4, 6, 7, 8, 8, 10, 11, 11]
// PACKED-NOT: pattern.filter_order
func.func @forward(%x: tensor<1x3x6x6xf32>) -> tensor<1x5x6x6xf32> {
  %w = arith.constant dense<1.0> : tensor<11x4xf32>
  %y = pattern.conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>
         assignment [0, -1, -1,  0, 1, 1,  1, -1, 0,  1, 1, 0,  1, 1, -1]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x3x6x6xf32>, tensor<11x4xf32> -> tensor<1x5x6x6xf32>
  return %y : tensor<1x5x6x6xf32>
}
