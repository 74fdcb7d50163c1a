// RUN: not pattern-opt %s --pattern-lower-to-gpu 2>&1 | FileCheck %s

// A CPU schedule (16-lane vectors) is not read as a GPU tiling: the error names the op.
// CHECK: error: pattern.packed_conv2d at loc({{.*}}): a GPU schedule computes 4 output columns per invocation: vector_width must be 4, got 16
func.func @main(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [0.5, 0.25, 0.125, 1.0]]> : tensor<3x4xf32>
  %y = pattern.packed_conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>
         filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 1, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         {schedule = #pattern.schedule<tile_rows = 2, tile_cols = 16, tile_filters = 1, tile_channels = 0, vector_width = 16, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 0>}
         : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}
