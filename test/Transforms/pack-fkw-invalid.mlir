// RUN: pattern-opt %s -split-input-file -verify-diagnostics --pattern-pack-fkw

// A filter order that is not a permutation of the filters is rejected at the op.
func.func @forward(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error @+1 {{'pattern.conv2d' has a bad pattern.filter_order: filter order must be a permutation of the 2 filters}}
  %y = pattern.conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5]]> assignment [0, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         {pattern.filter_order = array<i32: 0, 0>}
         : tensor<1x1x4x4xf32>, tensor<2x4xf32> -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// A filter order of another type than array<i32>.
func.func @forward(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error @+1 {{has a pattern.filter_order that is not an array<i32>}}
  %y = pattern.conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5]]> assignment [0, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         {pattern.filter_order = [0, 1]}
         : tensor<1x1x4x4xf32>, tensor<2x4xf32> -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// Weights the pass cannot read at compile time: FKW packs constants only.
func.func @forward(%x: tensor<1x1x4x4xf32>, %w: tensor<2x4xf32>) -> tensor<1x2x4x4xf32> {
  // expected-error @+1 {{'pattern.conv2d' needs constant weights (an arith.constant tensor)}}
  %y = pattern.conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5]]> assignment [0, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x1x4x4xf32>, tensor<2x4xf32> -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// A 5x5 library verifies (the dialect takes any kernel of up to 64 taps), but FKW packing
// and the CPU kernels are for 3x3 kernels.
func.func @forward(%x: tensor<1x1x6x6xf32>) -> tensor<1x2x6x6xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error @+1 {{'pattern.conv2d' has kernel 5x5; FKW packing supports 3x3 only}}
  %y = pattern.conv2d %x, %w library #pattern.library<5x5, [[7, 11, 12, 13]]> assignment [0, 0]
         strides [1, 1] padding [2, 2, 2, 2] dilations [1, 1]
         : tensor<1x1x6x6xf32>, tensor<2x4xf32> -> tensor<1x2x6x6xf32>
  return %y : tensor<1x2x6x6xf32>
}

// -----

// A bias computed at run time: FKW packs constants only.
func.func @forward(%x: tensor<1x1x4x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error @+1 {{'pattern.conv2d' needs a constant bias (an arith.constant tensor)}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5]]> assignment [0, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x1x4x4xf32>, tensor<2x4xf32>, tensor<2xf32> -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}
