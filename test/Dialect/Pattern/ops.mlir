// RUN: pattern-opt %s -split-input-file | pattern-opt -split-input-file | FileCheck %s
// RUN: pattern-opt %s -split-input-file --mlir-print-op-generic | pattern-opt -split-input-file | FileCheck %s

#lib2 = #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>

// CHECK-LABEL: func.func @conv_with_bias_and_relu
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x8x8xf32>, %[[W:.*]]: tensor<3x4xf32>, %[[B:.*]]: tensor<2xf32>)
// CHECK: %[[Y:.*]] = pattern.conv2d %[[X]], %[[W]], %[[B]] library <3x3, {{\[}}[1, 3, 4, 5], [1, 4, 5, 7]]>
// CHECK-SAME: assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <relu>
// CHECK-SAME: : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
// CHECK: return %[[Y]]
func.func @conv_with_bias_and_relu(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  %y = pattern.conv2d %x, %w, %b library #lib2 assignment [0, -1, 1, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <relu>
         : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

// CHECK-LABEL: func.func @conv_strided_dilated_no_bias
// CHECK: pattern.conv2d %{{.*}}, %{{.*}} library <3x3, {{\[}}[0, 1, 4, 8]]> assignment [0, 0, -1]
// CHECK-SAME: strides [2, 3] padding [2, 0, 1, 2] dilations [2, 1]
// CHECK-NOT: activation
// CHECK-SAME: -> tensor<1x3x4x3xf32>
func.func @conv_strided_dilated_no_bias(%x: tensor<1x1x9x8xf32>, %w: tensor<2x4xf32>) -> tensor<1x3x4x3xf32> {
  %y = pattern.conv2d %x, %w library #pattern.library<3x3, [[0, 1, 4, 8]]> assignment [0, 0, -1]
         strides [2, 3] padding [2, 0, 1, 2] dilations [2, 1]
         : tensor<1x1x9x8xf32>, tensor<2x4xf32> -> tensor<1x3x4x3xf32>
  return %y : tensor<1x3x4x3xf32>
}

// -----

// CHECK-LABEL: func.func @conv_clamp_with_schedule
// CHECK: pattern.conv2d
// CHECK-SAME: activation <clamp>
// CHECK-SAME: clamp_max = 6.000000e+00 : f32, clamp_min = -1.000000e+00 : f32
// CHECK-SAME: schedule = #pattern.schedule<tile_rows = 4, tile_cols = 16, tile_filters = 2, tile_channels = 0, vector_width = 16, unroll = 1, prefetch = 2, loop_order = rows_outer, threads = 0>
func.func @conv_clamp_with_schedule(%x: tensor<1x1x4x4xf32>, %w: tensor<1x4xf32>) -> tensor<1x1x4x4xf32> {
  %y = pattern.conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5]]> assignment [0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <clamp>
         {clamp_min = -1.0 : f32, clamp_max = 6.0 : f32,
          schedule = #pattern.schedule<tile_rows = 4, tile_cols = 16, tile_filters = 2, tile_channels = 0, vector_width = 16, unroll = 1, prefetch = 2, loop_order = rows_outer, threads = 0>}
         : tensor<1x1x4x4xf32>, tensor<1x4xf32> -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @packed_conv
// CHECK: pattern.packed_conv2d %{{.*}}, %{{.*}} library <3x3, {{\[}}[1, 3, 4, 5], [1, 4, 5, 7]]>
// CHECK-SAME: filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 1, 0]
// CHECK-SAME: strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <relu6>
func.func @packed_conv(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>) -> tensor<1x2x8x8xf32> {
  %y = pattern.packed_conv2d %x, %w
         library <3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>
         filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 1, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <relu6>
         : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

// A library with a 5x5 kernel and a single tap: the centre.
// CHECK-LABEL: func.func @library_attribute_forms
// CHECK-SAME: lib = #pattern.library<5x5, {{\[}}[12]]>
// CHECK-SAME: sched = #pattern.schedule<tile_rows = 1, tile_cols = 16, tile_filters = 1, tile_channels = 0, vector_width = 4, unroll = 2, prefetch = 0, loop_order = filters_outer, threads = 2>
func.func @library_attribute_forms() attributes {
    lib = #pattern.library<5x5, [[12]]>,
    sched = #pattern.schedule<tile_rows = 1, tile_cols = 16, tile_filters = 1, tile_channels = 0, vector_width = 4, unroll = 2, prefetch = 0, loop_order = filters_outer, threads = 2>} {
  return
}

// -----

// row_align and kernel_order are optional: non-default values are printed, defaults
// (16, by_pattern) are not.
// CHECK-LABEL: func.func @schedule_row_align
// CHECK-SAME: a = #pattern.schedule<tile_rows = 2, tile_cols = 32, tile_filters = 1, tile_channels = 0, vector_width = 16, unroll = 1, prefetch = 2, loop_order = rows_outer, threads = 0, row_align = 8>
// CHECK-SAME: b = #pattern.schedule<tile_rows = 2, tile_cols = 32, tile_filters = 1, tile_channels = 0, vector_width = 16, unroll = 1, prefetch = 2, loop_order = rows_outer, threads = 0>,
// CHECK-SAME: c = #pattern.schedule<tile_rows = 2, tile_cols = 32, tile_filters = 1, tile_channels = 8, vector_width = 16, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 0, row_align = 4, kernel_order = by_channel>}
func.func @schedule_row_align() attributes {
    a = #pattern.schedule<tile_rows = 2, tile_cols = 32, tile_filters = 1, tile_channels = 0, vector_width = 16, unroll = 1, prefetch = 2, loop_order = rows_outer, threads = 0, row_align = 8>,
    b = #pattern.schedule<tile_rows = 2, tile_cols = 32, tile_filters = 1, tile_channels = 0, vector_width = 16, unroll = 1, prefetch = 2, loop_order = rows_outer, threads = 0, row_align = 16>,
    c = #pattern.schedule<tile_rows = 2, tile_cols = 32, tile_filters = 1, tile_channels = 8, vector_width = 16, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 0, row_align = 4, kernel_order = by_channel>} {
  return
}

// -----

// Full and near-full masks of an 8x8 kernel: all ones, and all ones but one tap.
// CHECK-LABEL: func.func @library_of_full_mask
// CHECK-SAME: #pattern.library<8x8, {{\[}}[0, 1, 2, {{.*}}, 62, 63]]>
func.func @library_of_full_mask() attributes {a = #pattern.library<8x8, [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63]]>} {
  return
}
// CHECK-LABEL: func.func @library_of_near_full_masks
// CHECK-SAME: #pattern.library<8x8, {{\[}}[1, 2, {{.*}}, 62, 63], [0, 1, {{.*}}, 61, 62]]>
func.func @library_of_near_full_masks() attributes {a = #pattern.library<8x8, [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62]]>} {
  return
}

// -----

// CHECK-LABEL: func.func @block_conv_with_bias
// CHECK: pattern.block_conv2d %{{.*}}, %{{.*}}, %{{.*}} kernel [1, 1] block_rows 8 offsets [0, 2] channels [0, 3]
// CHECK-SAME: strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
// CHECK-SAME: : tensor<1x4x8x8xf32>, tensor<2x1x8xf32>, tensor<8xf32> -> tensor<1x8x8x8xf32>
func.func @block_conv_with_bias(%x: tensor<1x4x8x8xf32>, %w: tensor<2x1x8xf32>, %b: tensor<8xf32>) -> tensor<1x8x8x8xf32> {
  %y = pattern.block_conv2d %x, %w, %b kernel [1, 1] block_rows 8 offsets [0, 2] channels [0, 3]
         strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : tensor<1x4x8x8xf32>, tensor<2x1x8xf32>, tensor<8xf32> -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}

// -----

// A 3x3 window, strides and padding; 10 outputs in blocks of 4 (the last short), the
// second row block keeping nothing.
// CHECK-LABEL: func.func @block_conv_strided
// CHECK: pattern.block_conv2d %{{.*}}, %{{.*}} kernel [3, 3] block_rows 4 offsets [0, 1, 1, 3] channels [2, 0, 1]
// CHECK-SAME: strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
// CHECK-SAME: -> tensor<1x10x4x4xf32>
func.func @block_conv_strided(%x: tensor<1x3x8x8xf32>, %w: tensor<3x9x4xf32>) -> tensor<1x10x4x4xf32> {
  %y = pattern.block_conv2d %x, %w kernel [3, 3] block_rows 4 offsets [0, 1, 1, 3] channels [2, 0, 1]
         strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x3x8x8xf32>, tensor<3x9x4xf32> -> tensor<1x10x4x4xf32>
  return %y : tensor<1x10x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @block_matmul
// CHECK: pattern.block_matmul %{{.*}}, %{{.*}}, %{{.*}} block_rows 8 offsets [0, 1, 3] channels [5, 0, 2]
// CHECK-SAME: : tensor<4x6xf32>, tensor<3x8xf32>, tensor<16xf32> -> tensor<4x16xf32>
func.func @block_matmul(%x: tensor<4x6xf32>, %w: tensor<3x8xf32>, %b: tensor<16xf32>) -> tensor<4x16xf32> {
  %y = pattern.block_matmul %x, %w, %b block_rows 8 offsets [0, 1, 3] channels [5, 0, 2]
         : tensor<4x6xf32>, tensor<3x8xf32>, tensor<16xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
