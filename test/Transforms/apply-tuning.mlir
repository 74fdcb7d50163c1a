// RUN: rm -f %t.sqlite
// RUN: python -m pattern_mlir.tuning.db_tool put %t.sqlite %s --func tuned --cpu lit-cpu --schedule tile_rows=2,tile_cols=16,vector_width=8,unroll=2,prefetch=0
// RUN: pattern-opt %s --pattern-apply-tuning="db=%t.sqlite cpu=lit-cpu learned=0" | FileCheck %s
// RUN: pattern-opt %s --pattern-apply-tuning="db=%t.sqlite cpu=lit-cpu learned=0 overwrite=1" | FileCheck %s --check-prefix=OVERWRITE
// RUN: pattern-opt %s --pattern-pack-fkw --pattern-apply-tuning="db=%t.sqlite cpu=lit-cpu learned=0" | FileCheck %s --check-prefix=PACKED
// RUN: pattern-opt %s --pattern-apply-tuning="db=%t.sqlite cpu=other-cpu learned=0" | FileCheck %s --check-prefix=OTHERCPU
// RUN: not pattern-opt %s --pattern-apply-tuning="db=%t.missing" 2>&1 | FileCheck %s --check-prefix=MISSING

// A conv whose signature (shapes, stride, padding, dilation, library, connectivity, target,
// CPU) has a database entry gets the entry's schedule.
// CHECK-LABEL: func.func @tuned
// CHECK: pattern.conv2d
// CHECK-SAME: {schedule = #pattern.schedule<tile_rows = 2, tile_cols = 16, tile_filters = 1, tile_channels = 0, vector_width = 8, unroll = 2, prefetch = 0, loop_order = rows_outer, threads = 0>}
// OVERWRITE-LABEL: func.func @tuned
// OVERWRITE: #pattern.schedule<tile_rows = 2, tile_cols = 16,
// PACKED-LABEL: func.func @tuned
// PACKED: pattern.packed_conv2d
// PACKED-SAME: {schedule = #pattern.schedule<tile_rows = 2, tile_cols = 16,
// OTHERCPU-LABEL: func.func @tuned
// OTHERCPU-NOT: schedule
// OTHERCPU-LABEL: func.func @untuned
// MISSING: error: pattern-apply-tuning: tuning database {{.*}}.missing does not exist
func.func @tuned(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]]> : tensor<3x4xf32>
  %y = pattern.conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// Another input size: another signature, no entry; the op keeps no schedule (the code
// generator's default applies).
// CHECK-LABEL: func.func @untuned
// CHECK: pattern.conv2d
// CHECK-NOT: schedule
// CHECK: return
func.func @untuned(%x: tensor<1x2x9x8xf32>) -> tensor<1x2x9x8xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]]> : tensor<3x4xf32>
  %y = pattern.conv2d %x, %w library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x2x9x8xf32>, tensor<3x4xf32> -> tensor<1x2x9x8xf32>
  return %y : tensor<1x2x9x8xf32>
}

// The same signature as @tuned but an explicit schedule: it wins unless overwrite=1.
// CHECK-LABEL: func.func @explicit
// CHECK: #pattern.schedule<tile_rows = 4, tile_cols = 8,
// OVERWRITE-LABEL: func.func @explicit
// OVERWRITE: #pattern.schedule<tile_rows = 2, tile_cols = 16,
func.func @explicit(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]]> : tensor<3x4xf32>
  %y = pattern.conv2d %x, %w library #pattern.library<3x3, [[1, 4, 5, 7], [1, 3, 4, 5]]> assignment [1, -1, 0, 1]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         {schedule = #pattern.schedule<tile_rows = 4, tile_cols = 8, tile_filters = 1, tile_channels = 0, vector_width = 8, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 0>}
         : tensor<1x2x8x8xf32>, tensor<3x4xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}
