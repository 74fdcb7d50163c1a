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

// -----

// A 5x5 library verifies (the dialect takes any kernel of up to 64 taps); the CPU kernels
// are for 3x3 kernels.
func.func @kernel(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32> {
  %w = arith.constant dense<1.0> : tensor<3x4xf32>
  // expected-error @+1 {{'pattern.packed_conv2d' has kernel 5x5; the CPU lowering supports 3x3 only}}
  %y = pattern.packed_conv2d %x, %w library #pattern.library<5x5, [[7, 11, 12, 13], [11, 12, 13, 17]]>
         filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 1, 0]
         strides [1, 1] padding [2, 2, 2, 2] dilations [1, 1]
         : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

// Padding [top, left, bottom, right] that differs between the sides.
func.func @asymmetric(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x7x7xf32> {
  %w = arith.constant dense<1.0> : tensor<3x4xf32>
  // expected-error @+1 {{'pattern.packed_conv2d' has asymmetric padding [1, 1, 0, 0], which torch convolutions never produce; the CPU lowering supports symmetric padding only}}
  %y = pattern.packed_conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>
         filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 1, 0]
         strides [1, 1] padding [1, 1, 0, 0] dilations [1, 1]
         : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x7x7xf32>
  return %y : tensor<1x2x7x7xf32>
}

// -----

// The entry copies each input row with unrolled code: rows are bounded.
func.func @wide(%x: tensor<1x2x3x32768xf32>) -> tensor<1x2x3x32768xf32> {
  %w = arith.constant dense<1.0> : tensor<3x4xf32>
  // expected-error @+1 {{'pattern.packed_conv2d' has padded input width 32770; the CPU lowering supports up to 32768}}
  %y = pattern.packed_conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>
         filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 1, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x2x3x32768xf32>, tensor<3x4xf32> -> tensor<1x2x3x32768xf32>
  return %y : tensor<1x2x3x32768xf32>
}

// -----

// tile_channels = 1 over 2^21 input channels asks for a table entry per (filter, pattern,
// channel block): more than the lowering builds.
func.func @channel_blocks(%x: tensor<1x2097152x3x3xf32>) -> tensor<1x1x3x3xf32> {
  %w = arith.constant dense<1.0> : tensor<1x4xf32>
  // expected-error @+1 {{'pattern.packed_conv2d' has schedule tile_channels = 1, 2097152 blocks of its 2097152 input channels: 16777224 channel-block table entries, more than 16777216}}
  %y = pattern.packed_conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7], [3, 4, 5, 7], [1, 3, 4, 7], [0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]]>
         filter_order [0] offsets [0, 1, 1, 1, 1, 1, 1, 1, 1] channels [0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         {schedule = #pattern.schedule<tile_rows = 1, tile_cols = 8, tile_filters = 1, tile_channels = 1, vector_width = 8, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 0>}
         : tensor<1x2097152x3x3xf32>, tensor<1x4xf32> -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
}
