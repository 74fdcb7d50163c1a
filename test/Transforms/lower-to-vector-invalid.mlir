// RUN: pattern-opt %s -split-input-file -verify-diagnostics --pattern-lower-to-vector=target=x86-64-v3

// What the verifier accepts but the CPU kernels do not compute is refused at the op.
func.func @batch(%x: tensor<2x2x8x8xf32>) -> tensor<2x2x8x8xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [0.5, 0.25, 0.125, 1.0]]> : tensor<3x4xf32>
  // expected-error @+1 {{'pattern.packed_conv2d' has batch 2; the CPU lowering supports batch 1}}
  %y = pattern.packed_conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>
         filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 1, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<2x2x8x8xf32>, tensor<3x4xf32> -> tensor<2x2x8x8xf32>
  return %y : tensor<2x2x8x8xf32>
}

// -----

// A schedule out of range is refused while parsing (the attribute's C++ verifier); the
// same annotations check the parser's diagnostics.
func.func @schedule(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [0.5, 0.25, 0.125, 1.0]]> : tensor<3x4xf32>
  // expected-error @+4 {{tile_rows = 0 is not in [1, 32]}}
  %y = pattern.packed_conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>
         filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 1, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         {schedule = #pattern.schedule<tile_rows = 0, tile_cols = 16, tile_filters = 1, tile_channels = 0, vector_width = 16, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 0>}
         : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}
