// RUN: pattern-opt %s --pattern-lower-to-gpu | FileCheck %s

// A #pattern.schedule sets the conv kernel's tiling on the GPU: tile_cols = 8 is 2
// invocations of 4 columns, tile_rows = 2 rows, so a 2 x 2 workgroup (the heuristic
// would cover the 8 x 8 output with 2 x 8); the free invocations of the 64 become
// filter lanes (here 2: one per filter), and the grid has 4 tiles of 8 x 2.
#lib = #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]>

// CHECK-LABEL: func.func @main
// CHECK: gpu.launch_func @pattern_conv0::@pattern_conv0 blocks in (%c4, %c1, %c1) threads in (%c2, %c2, %c2)
// CHECK: gpu.func @pattern_conv0({{.*}}) kernel attributes {spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [2, 2, 2]>}
func.func @main(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [0.5, 0.25, 0.125, 1.0]]> : tensor<3x4xf32>
  %y = pattern.packed_conv2d %x, %w library #lib
         filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [0, 1, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         {schedule = #pattern.schedule<tile_rows = 2, tile_cols = 8, tile_filters = 4, tile_channels = 0, vector_width = 4, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 0>}
         : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}
