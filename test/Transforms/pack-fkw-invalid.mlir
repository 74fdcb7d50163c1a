// RUN: not pattern-opt %s --pattern-pack-fkw 2>&1 | FileCheck %s

// A filter order that is not a permutation of the filters is rejected, naming the op.
// CHECK: error: {{.*}}'pattern.conv2d' has a bad pattern.filter_order: filter order must be a permutation of the 2 filters
func.func @forward(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = pattern.conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5]]> assignment [0, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         {pattern.filter_order = array<i32: 0, 0>}
         : tensor<1x1x4x4xf32>, tensor<2x4xf32> -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}
