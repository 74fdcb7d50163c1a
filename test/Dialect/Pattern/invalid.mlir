// RUN: pattern-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{pattern 1 has 3 taps, but pattern 0 has 4}}
func.func @library_unequal_tap_counts() attributes {a = #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5]]>} {
  return
}

// -----

// expected-error @+1 {{pattern 1 duplicates pattern 0}}
func.func @library_duplicate_masks() attributes {a = #pattern.library<3x3, [[1, 3, 4, 5], [1, 3, 4, 5]]>} {
  return
}

// -----

// The 64-tap mask of an 8x8 kernel is all ones (a hash table's reserved key).
// expected-error @+1 {{pattern 1 duplicates pattern 0}}
func.func @library_duplicate_full_masks() attributes {a = #pattern.library<8x8, [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63]]>} {
  return
}

// -----

// expected-error @+1 {{pattern 0 keeps no tap}}
func.func @library_pattern_without_taps() attributes {a = #pattern.library<3x3, [[]]>} {
  return
}

// -----

// expected-error @+1 {{pattern 0 has tap 9 outside the 3x3 kernel (taps are 0 to 8)}}
func.func @library_tap_outside_kernel() attributes {a = #pattern.library<3x3, [[1, 4, 5, 9]]>} {
  return
}

// -----

// expected-error @+1 {{pattern 0 does not keep the centre tap 4}}
func.func @library_without_centre() attributes {a = #pattern.library<3x3, [[0, 1, 2, 3]]>} {
  return
}

// -----

// expected-error @+1 {{library must hold at least one pattern}}
func.func @library_empty() attributes {a = #pattern.library<3x3, []>} {
  return
}

// -----

// expected-error @+1 {{kernel must be KHxKW with KH, KW >= 1 and at most 64 taps, got 9x9}}
func.func @library_kernel_too_large() attributes {a = #pattern.library<9x9, [[40]]>} {
  return
}

// -----

// expected-error @+1 {{kernel must be KHxKW with KH, KW >= 1 and at most 64 taps, got 0x3}}
func.func @library_kernel_zero() attributes {a = #pattern.library<0x3, [[1]]>} {
  return
}

// -----

func.func @library_taps_not_increasing() attributes {
  // expected-error @+1 {{taps of pattern 0 must be strictly increasing, got 3 after 4}}
  a = #pattern.library<3x3, [[1, 4, 3, 5]]>} {
  return
}

// -----

func.func @library_negative_tap() attributes {
  // expected-error @+1 {{tap -1 of pattern 0 is not in [0, 64)}}
  a = #pattern.library<3x3, [[-1, 4]]>} {
  return
}

// -----

func.func @library_not_2d() attributes {
  // expected-error @+1 {{expected a KHxKW kernel shape}}
  a = #pattern.library<3x3x3, [[4]]>} {
  return
}

// -----

// expected-error @+1 {{tile_rows = 0 is not in [1, 32]}}
func.func @schedule_zero_tile() attributes {a = #pattern.schedule<tile_rows = 0, tile_cols = 16, tile_filters = 1, tile_channels = 0, vector_width = 4, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 0>} {
  return
}

// -----

// expected-error @+1 {{vector_width = 12 is not a power of two}}
func.func @schedule_vector_not_power_of_two() attributes {a = #pattern.schedule<tile_rows = 1, tile_cols = 16, tile_filters = 1, tile_channels = 0, vector_width = 12, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 0>} {
  return
}

// -----

// expected-error @+1 {{row_align = 12 is not a power of two}}
func.func @schedule_row_align_not_power_of_two() attributes {a = #pattern.schedule<tile_rows = 1, tile_cols = 16, tile_filters = 1, tile_channels = 0, vector_width = 4, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 0, row_align = 12>} {
  return
}

// -----

// expected-error @+1 {{kernel_order = by_channel needs tile_filters = 1, unroll = 1 and prefetch = 0}}
func.func @schedule_by_channel_with_prefetch() attributes {a = #pattern.schedule<tile_rows = 1, tile_cols = 16, tile_filters = 1, tile_channels = 0, vector_width = 4, unroll = 1, prefetch = 2, loop_order = rows_outer, threads = 0, kernel_order = by_channel>} {
  return
}

// -----

// expected-error @+1 {{row_align = 128 is not in [1, 64]}}
func.func @schedule_row_align_too_large() attributes {a = #pattern.schedule<tile_rows = 1, tile_cols = 16, tile_filters = 1, tile_channels = 0, vector_width = 4, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 0, row_align = 128>} {
  return
}

// -----

// expected-error @+1 {{threads = -1 is not in [0, 1024]}}
func.func @schedule_negative_threads() attributes {a = #pattern.schedule<tile_rows = 1, tile_cols = 16, tile_filters = 1, tile_channels = 0, vector_width = 4, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = -1>} {
  return
}

// -----

func.func @assignment_wrong_size(%x: tensor<1x2x8x8xf32>, %w: tensor<2x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{assignment has 3 entries, expected 4 (2 output x 2 input channels)}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]  : tensor<1x2x8x8xf32>, tensor<2x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @assignment_id_out_of_range(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{assignment[2] = 2 (output channel 1, input channel 0) is not -1 or a pattern id in [0, 2)}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 2, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]  : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @assignment_id_below_minus_one(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{assignment[1] = -2 (output channel 0, input channel 1) is not -1 or a pattern id in [0, 2)}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -2, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]  : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @weights_wrong_kernel_count(%x: tensor<1x2x8x8xf32>, %w: tensor<4x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{weights hold 4 kernels, but the assignment keeps 3}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]  : tensor<1x2x8x8xf32>, tensor<4x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @weights_wrong_tap_count(%x: tensor<1x2x8x8xf32>, %w: tensor<3x9xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{weights hold 9 taps per kernel, but the library's patterns keep 4}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]  : tensor<1x2x8x8xf32>, tensor<3x9xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @weights_not_2d(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4x1xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{expects static 2-D weights (kept kernels x taps), got 'tensor<3x4x1xf32>'}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]  : tensor<1x2x8x8xf32>, tensor<3x4x1xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @bias_wrong_size(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{expects bias of shape [2], got 'tensor<3xf32>'}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]  : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<3xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @padding_negative(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{padding[2] = -1 is not in [0, 2147483648)}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, -1, 1] dilations [1, 1]  : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @padding_wrong_count(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{expects 4 padding values, got 2}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1] dilations [1, 1]  : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @stride_zero(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{strides[1] = 0 is not in [1, 2147483648)}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 0] padding [1, 1, 1, 1] dilations [1, 1]  : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @dilation_zero(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{dilations[0] = 0 is not in [1, 2147483648)}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [0, 1]  : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @output_height_mismatch(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{output height is 8, but the geometry gives 4}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [2, 1] padding [1, 1, 1, 1] dilations [1, 1]  : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @kernel_exceeds_input(%x: tensor<1x2x2x2xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x1x1xf32> {
  // expected-error @+1 {{dilated kernel height 9 exceeds the padded input height 2}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [0, 0, 0, 0] dilations [4, 1]  : tensor<1x2x2x2xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x1x1xf32>
  return %y : tensor<1x2x1x1xf32>
}

// -----

func.func @batch_mismatch(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<2x2x8x8xf32> {
  // expected-error @+1 {{output batch 2 differs from input batch 1}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]  : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<2x2x8x8xf32>
  return %y : tensor<2x2x8x8xf32>
}

// -----

func.func @input_not_4d(%x: tensor<2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{expects a 4-D NCHW input, got rank 3}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]  : tensor<2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @input_dynamic(%x: tensor<1x2x?x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{expects a static input shape, dim 2 is dynamic}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]  : tensor<1x2x?x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @input_zero_size(%x: tensor<1x2x8x0xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{input dim 3 = 0 is not in [1, 2147483648)}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]  : tensor<1x2x8x0xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @output_huge(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x4294967296x8x8xf32> {
  // expected-error @+1 {{output dim 1 = 4294967296 is not in [1, 2147483648)}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]  : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x4294967296x8x8xf32>
  return %y : tensor<1x4294967296x8x8xf32>
}

// -----

func.func @clamp_without_bounds(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{clamp activation needs clamp_min and clamp_max}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <clamp>  : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @clamp_bounds_on_relu(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{clamp_min and clamp_max are only allowed with the clamp activation}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <relu> {clamp_min = 0.0 : f32, clamp_max = 1.0 : f32} : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @clamp_min_above_max(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{clamp_min 2.000000e+00 must not exceed clamp_max 1.000000e+00}}
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <clamp> {clamp_min = 2.0 : f32, clamp_max = 1.0 : f32} : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @integer_input(%x: tensor<1x2x8x8xi32>, %w: tensor<3x4xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<1x2x8x8xi32>'}}
  %y = pattern.conv2d %x, %w library <3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] : tensor<1x2x8x8xi32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @memref_input(%x: memref<1x2x8x8xf32>, %w: tensor<3x4xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float values, but got 'memref<1x2x8x8xf32>'}}
  %y = "pattern.conv2d"(%x, %w) <{library = #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>, assignment = array<i32: 0, -1, 1, 0>, strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, operandSegmentSizes = array<i32: 1, 1, 0>}> : (memref<1x2x8x8xf32>, tensor<3x4xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @missing_library_attribute(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{requires attribute 'library'}}
  %y = "pattern.conv2d"(%x, %w) <{assignment = array<i32: 0, -1, 1, 0>, strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, operandSegmentSizes = array<i32: 1, 1, 0>}> : (tensor<1x2x8x8xf32>, tensor<3x4xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @library_wrong_attribute_kind(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{Invalid attribute `library` in property conversion: 3 : i64}}
  %y = "pattern.conv2d"(%x, %w) <{library = 3 : i64, assignment = array<i32: 0, -1, 1, 0>, strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, operandSegmentSizes = array<i32: 1, 1, 0>}> : (tensor<1x2x8x8xf32>, tensor<3x4xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @packed_filter_order_out_of_range(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{filter_order[1] = 2 is not an output channel in [0, 2)}}
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> filter_order [1, 2] offsets [0, 1, 2, 3, 3] channels [0, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @packed_filter_order_repeat(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{filter_order[1] repeats output channel 1}}
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> filter_order [1, 1] offsets [0, 1, 2, 3, 3] channels [0, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @packed_filter_order_wrong_size(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{filter_order has 1 entries, expected 2}}
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> filter_order [0] offsets [0, 1, 2, 3, 3] channels [0, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @packed_offsets_wrong_size(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{offsets has 4 entries, expected 5 (filters x patterns + 1)}}
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> filter_order [1, 0] offsets [0, 1, 2, 3] channels [0, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @packed_offsets_not_from_zero(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{offsets[0] = 1, expected 0}}
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> filter_order [1, 0] offsets [1, 1, 2, 3, 3] channels [0, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @packed_offsets_decreasing(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{offsets[2] = 0 is smaller than offsets[1] = 1}}
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> filter_order [1, 0] offsets [0, 1, 0, 3, 3] channels [0, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @packed_stream_length_mismatch(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{stream has 3 weight rows, 2 channels and offsets ending at 3; all three must agree}}
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 1] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @packed_channel_out_of_range(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{channels[1] = 5 is not an input channel in [0, 2)}}
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 5, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @packed_channel_repeat_in_filter(%x: tensor<1x2x8x8xf32>, %w: tensor<3x4xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{channels[1] = 0 repeats an input channel of filter 0}}
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 0, 1] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

// expected-error @+1 {{tile_cols = 20 is not a multiple of vector_width = 8}}
func.func @schedule_tile_cols_not_vector_multiple() attributes {a = #pattern.schedule<tile_rows = 1, tile_cols = 20, tile_filters = 1, tile_channels = 0, vector_width = 8, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 0>} {
  return
}

// -----

// Every dim is in range, but the input has 4 * (2^31 - 1) elements.
func.func @input_too_many_elements(%x: tensor<1x1x4x2147483647xf32>, %w: tensor<1x4xf32>) -> tensor<1x1x4x2147483647xf32> {
  // expected-error @+1 {{input 'tensor<1x1x4x2147483647xf32>' has more than 2147483647 elements}}
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5]]> filter_order [0] offsets [0, 1] channels [0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] : tensor<1x1x4x2147483647xf32>, tensor<1x4xf32> -> tensor<1x1x4x2147483647xf32>
  return %y : tensor<1x1x4x2147483647xf32>
}

// -----

func.func @output_too_many_elements(%x: tensor<1x1x32767x65536xf32>, %w: tensor<2x4xf32>) -> tensor<1x2x32767x65536xf32> {
  // expected-error @+1 {{output 'tensor<1x2x32767x65536xf32>' has more than 2147483647 elements}}
  %y = pattern.conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5]]> assignment [0, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] : tensor<1x1x32767x65536xf32>, tensor<2x4xf32> -> tensor<1x2x32767x65536xf32>
  return %y : tensor<1x2x32767x65536xf32>
}

// -----

// The element count of these weights overflows int64: the check must saturate.
func.func @weights_element_count_overflows(%x: tensor<1x2x8x8xf32>, %w: tensor<4611686018427387904x4xf32>) -> tensor<1x2x8x8xf32> {
  // expected-error @+1 {{weights 'tensor<4611686018427387904x4xf32>' has more than 2147483647 elements}}
  %y = pattern.conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] : tensor<1x2x8x8xf32>, tensor<4611686018427387904x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

func.func @block_offsets_count(%x: tensor<4x6xf32>, %w: tensor<3x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{offsets has 2 entries, expected 3 (2 row blocks of 8 outputs + 1)}}
  %y = pattern.block_matmul %x, %w block_rows 8 offsets [0, 3] channels [5, 0, 2]
         : tensor<4x6xf32>, tensor<3x8xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @block_offsets_decrease(%x: tensor<4x6xf32>, %w: tensor<3x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{offsets[2] = 1 is smaller than offsets[1] = 2}}
  %y = pattern.block_matmul %x, %w block_rows 8 offsets [0, 2, 1] channels [5, 0, 2]
         : tensor<4x6xf32>, tensor<3x8xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @block_stream_disagrees(%x: tensor<4x6xf32>, %w: tensor<3x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{stream has 3 weight rows, 2 channels and offsets ending at 2; all three must agree}}
  %y = pattern.block_matmul %x, %w block_rows 8 offsets [0, 1, 2] channels [5, 0]
         : tensor<4x6xf32>, tensor<3x8xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @block_channel_out_of_range(%x: tensor<4x6xf32>, %w: tensor<3x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{channels[0] = 6 is not an input in [0, 6)}}
  %y = pattern.block_matmul %x, %w block_rows 8 offsets [0, 1, 3] channels [6, 0, 2]
         : tensor<4x6xf32>, tensor<3x8xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @block_channels_repeat(%x: tensor<4x6xf32>, %w: tensor<3x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{channels[2] = 0 does not increase within row block 1 (channels[1] = 0)}}
  %y = pattern.block_matmul %x, %w block_rows 8 offsets [0, 1, 3] channels [5, 0, 0]
         : tensor<4x6xf32>, tensor<3x8xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @block_weights_rows(%x: tensor<4x6xf32>, %w: tensor<3x4xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{expects static weights of shape [kept x 8], got 'tensor<3x4xf32>'}}
  %y = pattern.block_matmul %x, %w block_rows 8 offsets [0, 1, 3] channels [5, 0, 2]
         : tensor<4x6xf32>, tensor<3x4xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @block_rows_zero(%x: tensor<4x6xf32>, %w: tensor<3x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{attribute 'block_rows' failed to satisfy constraint}}
  %y = pattern.block_matmul %x, %w block_rows 0 offsets [0, 1, 3] channels [5, 0, 2]
         : tensor<4x6xf32>, tensor<3x8xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @block_matmul_rows_differ(%x: tensor<4x6xf32>, %w: tensor<3x8xf32>) -> tensor<5x16xf32> {
  // expected-error @+1 {{output has 5 rows, the input 4}}
  %y = pattern.block_matmul %x, %w block_rows 8 offsets [0, 1, 3] channels [5, 0, 2]
         : tensor<4x6xf32>, tensor<3x8xf32> -> tensor<5x16xf32>
  return %y : tensor<5x16xf32>
}

// -----

func.func @block_conv_taps(%x: tensor<1x3x8x8xf32>, %w: tensor<3x4x4xf32>) -> tensor<1x10x4x4xf32> {
  // expected-error @+1 {{expects static weights of shape [kept x 9 x 4], got 'tensor<3x4x4xf32>'}}
  %y = pattern.block_conv2d %x, %w kernel [3, 3] block_rows 4 offsets [0, 1, 1, 3] channels [2, 0, 1]
         strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x3x8x8xf32>, tensor<3x4x4xf32> -> tensor<1x10x4x4xf32>
  return %y : tensor<1x10x4x4xf32>
}

// -----

func.func @block_conv_geometry(%x: tensor<1x3x8x8xf32>, %w: tensor<3x9x4xf32>) -> tensor<1x10x5x4xf32> {
  // expected-error @+1 {{output height is 5, but the geometry gives 4}}
  %y = pattern.block_conv2d %x, %w kernel [3, 3] block_rows 4 offsets [0, 1, 1, 3] channels [2, 0, 1]
         strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x3x8x8xf32>, tensor<3x9x4xf32> -> tensor<1x10x5x4xf32>
  return %y : tensor<1x10x5x4xf32>
}

// -----

func.func @block_conv_bias(%x: tensor<1x3x8x8xf32>, %w: tensor<3x9x4xf32>, %b: tensor<8xf32>) -> tensor<1x10x4x4xf32> {
  // expected-error @+1 {{expects bias of shape [10], got 'tensor<8xf32>'}}
  %y = pattern.block_conv2d %x, %w, %b kernel [3, 3] block_rows 4 offsets [0, 1, 1, 3] channels [2, 0, 1]
         strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x3x8x8xf32>, tensor<3x9x4xf32>, tensor<8xf32> -> tensor<1x10x4x4xf32>
  return %y : tensor<1x10x4x4xf32>
}
