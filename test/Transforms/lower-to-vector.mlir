// RUN: pattern-opt %s -split-input-file --pattern-lower-to-vector | FileCheck %s
// RUN: pattern-opt %s -split-input-file --pattern-lower-to-vector="target=arm64-neon threads=2" | FileCheck %s --check-prefix=NEON

// One filter, one kernel of pattern [1, 3, 4, 5] (taps (0,1), (1,0), (1,1), (1,2)),
// blocks of 2 output rows x one vector<4xf32>. The two rows need 8 products but
// only 7 input vectors: row 1, column 1 serves the centre tap of output row 0 and
// the top tap of output row 1, and is loaded once (load-redundancy elimination).

// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: tensor<1x1x4x4xf32>)
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x1x4x4xf32>
// CHECK: call @pattern_conv_0_entry(%[[XB]], {{.*}}, %[[OUT]])
// CHECK: %[[Y:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[Y]]

// The kernel: a row-block loop, a filter loop, one scf.for per pattern over the
// filter's kernels with the accumulators as iter_args.
// CHECK-LABEL: func.func private @pattern_conv_0(
// CHECK-SAME: %[[IN:[^:]*]]: memref<1x6x16xf32>
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<4xf32>, vector<4xf32>)
// CHECK-COUNT-2: vector.load
// CHECK: %[[SHARED:.*]] = vector.load
// CHECK-NEXT: vector.fma %{{.*}}, %[[SHARED]], %{{.*}} : vector<4xf32>
// CHECK-NEXT: vector.fma %{{.*}}, %[[SHARED]], %{{.*}} : vector<4xf32>
// CHECK-COUNT-4: vector.load
// CHECK-NOT: vector.load
// CHECK: scf.yield
// Epilogue: ReLU, then one store per accumulator.
// CHECK: arith.maximumf
// CHECK: vector.store

// The entry pads the input into a 64-byte aligned scratch buffer (rows of 16
// floats) and calls the kernel on all filters.
// CHECK-LABEL: func.func private @pattern_conv_0_entry
// CHECK: %[[BUF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x6x16xf32>
// CHECK: linalg.fill {{.*}} outs(%[[BUF]]
// CHECK: %[[DST:.*]] = memref.subview %[[BUF]][0, 1, 1] [1, 4, 4] [1, 1, 1]
// CHECK: linalg.copy {{.*}} outs(%[[DST]]
// CHECK: call @pattern_conv_0(%[[BUF]]

// NEON-LABEL: func.func private @pattern_conv_0(
// NEON: vector.fma {{.*}} : vector<4xf32>
func.func @forward(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5]]> filter_order [0] offsets [0, 1] channels [0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <relu>
         {schedule = #pattern.schedule<tile_rows = 2, tile_cols = 4, tile_filters = 1, tile_channels = 0, vector_width = 4, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 1>}
         : tensor<1x1x4x4xf32>, tensor<1x4xf32> -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

// Stride 2 in width: the entry splits the padded input into 2 phase planes per
// channel (columns 0, 2, 4, ... and 1, 3, 5, ...) so vector loads stay contiguous.
// CHECK-LABEL: func.func private @pattern_conv_0_entry
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<4x9x16xf32>
// CHECK: memref.subview %{{.*}}[0, 0, 1] [2, 7, 3] [1, 1, 2]
// CHECK: memref.subview %{{.*}}[0, 1, 1] [2, 7, 3] [2, 1, 1]
// CHECK: memref.subview %{{.*}}[0, 0, 0] [2, 7, 4] [1, 1, 2]
// CHECK: memref.subview %{{.*}}[1, 1, 0] [2, 7, 4] [2, 1, 1]
// With 2 threads the entry splits the 3 filters into 2 balanced groups.
// NEON-LABEL: func.func private @pattern_conv_0_entry
// NEON: scf.parallel
// NEON: call @pattern_conv_0
func.func @forward(%x: tensor<1x2x7x7xf32>) -> tensor<1x3x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<3x4xf32>
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> filter_order [0, 2, 1] offsets [0, 1, 2, 2, 3, 3, 3] channels [0, 1, 1]
         strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x2x7x7xf32>, tensor<3x4xf32> -> tensor<1x3x4x4xf32>
  return %y : tensor<1x3x4x4xf32>
}
