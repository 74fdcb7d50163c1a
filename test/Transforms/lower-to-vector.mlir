// RUN: pattern-opt %s -split-input-file --pattern-lower-to-vector=target=x86-64-v4 | FileCheck %s
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
// floats) and calls the kernel on all filters. It zeroes only what the copy leaves:
// the top and bottom rows, column 0 and the row tails (columns 5-15) of rows 1-4.
// CHECK-LABEL: func.func private @pattern_conv_0_entry
// CHECK: %[[BUF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x6x16xf32>
// CHECK: %[[TOP:.*]] = memref.subview %[[BUF]][0, 0, 0] [1, 1, 16] [1, 1, 1]
// CHECK-NEXT: linalg.fill {{.*}} outs(%[[TOP]]
// CHECK-NEXT: %[[BOTTOM:.*]] = memref.subview %[[BUF]][0, 5, 0] [1, 1, 16] [1, 1, 1]
// CHECK-NEXT: linalg.fill {{.*}} outs(%[[BOTTOM]]
// CHECK-NEXT: %[[LEFT:.*]] = memref.subview %[[BUF]][0, 1, 0] [1, 4, 1] [1, 1, 1]
// CHECK-NEXT: linalg.fill {{.*}} outs(%[[LEFT]]
// CHECK-NEXT: %[[TAIL:.*]] = memref.subview %[[BUF]][0, 1, 5] [1, 4, 11] [1, 1, 1]
// CHECK-NEXT: linalg.fill {{.*}} outs(%[[TAIL]]
// CHECK-NOT: linalg.fill
// The image goes in row by row as vector code: per row one load and one store (masked:
// 4 columns), at padded row 1 + y, column 1 (flat offset 17 + 16 y).
// CHECK: %[[FLAT:.*]] = memref.collapse_shape %[[BUF]] {{\[}}[0, 1, 2]] : memref<1x6x16xf32> into memref<96xf32>
// CHECK: scf.for
// CHECK: scf.for
// CHECK: %[[ROW:.*]] = vector.maskedload
// CHECK: vector.maskedstore %[[FLAT]][%{{.*}}], %{{.*}}, %[[ROW]]
// CHECK-NOT: linalg.copy
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

// A conv whose only user is a stride-1 conv writes straight into that conv's padded
// input (here padding 2, rows of 16 floats: 1x8x16), and zeroes its border; the
// consumer reads it as is, with no scratch buffer and no copy.
// CHECK-LABEL: func.func @forward
// CHECK: %[[PAD:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x1x8x16xf32>
// CHECK: call @pattern_conv_0_entry(%{{.*}}, %[[PAD]])
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[PAD]] restrict writable
// CHECK-NOT: tensor.extract_slice
// CHECK: %[[PADB:.*]] = bufferization.to_buffer %[[T]] read_only {pattern.read = {{[0-9]+}} : i64} : tensor<1x1x8x16xf32>
// CHECK: call @pattern_conv_1_entry(%[[PADB]],
// CHECK-LABEL: func.func private @pattern_conv_0(
// CHECK-SAME: memref<1x4x4xf32, strided<[128, 16, 1], offset: 34>>
// CHECK-LABEL: func.func private @pattern_conv_0_entry
// CHECK: %[[O4:.*]] = memref.collapse_shape %{{.*}} : memref<1x1x8x16xf32> into memref<1x8x16xf32>
// CHECK: memref.subview %[[O4]][0, 0, 0] [1, 2, 16] [1, 1, 1]
// CHECK: memref.subview %[[O4]][0, 6, 0] [1, 2, 16] [1, 1, 1]
// CHECK: memref.subview %[[O4]][0, 2, 0] [1, 4, 2] [1, 1, 1]
// CHECK: memref.subview %[[O4]][0, 2, 6] [1, 4, 10] [1, 1, 1]
// CHECK: %[[O3:.*]] = memref.subview %[[O4]][0, 2, 2] [1, 4, 4] [1, 1, 1]
// CHECK: call @pattern_conv_0(%{{.*}}, %[[O3]],
// CHECK-LABEL: func.func private @pattern_conv_1_entry
// CHECK-NOT: memref.alloc
// CHECK-NOT: linalg.copy
// CHECK: return
func.func @forward(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5]]> filter_order [0] offsets [0, 1] channels [0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         {schedule = #pattern.schedule<tile_rows = 2, tile_cols = 4, tile_filters = 1, tile_channels = 0, vector_width = 4, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 1>}
         : tensor<1x1x4x4xf32>, tensor<1x4xf32> -> tensor<1x1x4x4xf32>
  %z = pattern.packed_conv2d %y, %w library <3x3, [[1, 3, 4, 5]]> filter_order [0] offsets [0, 1] channels [0]
         strides [1, 1] padding [2, 2, 2, 2] dilations [2, 2]
         {schedule = #pattern.schedule<tile_rows = 2, tile_cols = 4, tile_filters = 1, tile_channels = 0, vector_width = 4, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 1>}
         : tensor<1x1x4x4xf32>, tensor<1x4xf32> -> tensor<1x1x4x4xf32>
  return %z : tensor<1x1x4x4xf32>
}

// -----

// Stride 2 in width: the entry splits the padded input into 2 phase planes per
// channel (columns 0, 2, 4, ... and 1, 3, 5, ...) so vector loads stay contiguous.
// (The row length depends on the host's default schedule: its row_align.)
// CHECK-LABEL: func.func private @pattern_conv_0_entry
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<4x9x{{[0-9]+}}xf32>
// Each input row is read once (7 columns: one masked load); its odd lanes (columns 1, 3, 5)
// go to plane 0 from padded column 2, its even lanes (columns 0, 2, 4, 6) to plane 1.
// CHECK-DAG: vector.constant_mask [7] : vector<16xi1>
// CHECK-DAG: %[[M3:.*]] = vector.constant_mask [3] : vector<16xi1>
// CHECK-DAG: %[[M4:.*]] = vector.constant_mask [4] : vector<16xi1>
// CHECK: %[[ROW:.*]] = vector.maskedload
// CHECK: %[[ODD:.*]] = vector.shuffle %[[ROW]], %{{.*}} [1, 3, 5, 7, 9,
// CHECK: vector.maskedstore %{{.*}}, %[[M3]], %[[ODD]]
// CHECK: %[[EVEN:.*]] = vector.shuffle %[[ROW]], %{{.*}} [0, 2, 4, 6, 8,
// CHECK: vector.maskedstore %{{.*}}, %[[M4]], %[[EVEN]]
// CHECK-NOT: linalg.copy
// With 4 lanes a row is two loads (the second masked to 3 columns), shuffled the same way.
// NEON-LABEL: func.func private @pattern_conv_0_entry(%{{[^:]*}}: memref<1x2x7x7xf32>
// NEON: vector.load
// NEON: vector.maskedload
// NEON: vector.shuffle %{{.*}}, %{{.*}} [1, 3, 5, 7] : vector<4xf32>, vector<4xf32>
// NEON: vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4, 6] : vector<4xf32>, vector<4xf32>
// With 2 threads the entry splits the 3 filters into 2 balanced groups.
// NEON: scf.parallel
// NEON: call @pattern_conv_0
func.func @forward(%x: tensor<1x2x7x7xf32>) -> tensor<1x3x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<3x4xf32>
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> filter_order [0, 2, 1] offsets [0, 1, 2, 2, 3, 3, 3] channels [0, 1, 1]
         strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x2x7x7xf32>, tensor<3x4xf32> -> tensor<1x3x4x4xf32>
  return %y : tensor<1x3x4x4xf32>
}

// -----

// Bias and ReLU6 in the epilogue: each filter's accumulators start from its
// bias (read through filter_order), and the stored value is min(max(acc, 0), 6).
// CHECK-LABEL: func.func private @pattern_conv_0(
// CHECK-SAME: %[[ORDER:[^:]*]]: memref<2xi32>, %{{[^:]*}}: memref<3xi32>, %{{[^:]*}}: memref<?xi32>, %{{[^:]*}}: memref<?x4xf32>, %[[BIAS:[^:]*]]: memref<2xf32>
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<4xf32>
// CHECK-DAG: %[[SIX:.*]] = arith.constant dense<6.000000e+00> : vector<4xf32>
// CHECK: %[[O32:.*]] = memref.load %[[ORDER]][%{{.*}}] : memref<2xi32>
// CHECK: %[[O:.*]] = arith.index_cast %[[O32]] : i32 to index
// CHECK: %[[B:.*]] = memref.load %[[BIAS]][%[[O]]] : memref<2xf32>
// CHECK: %[[INIT:.*]] = vector.broadcast %[[B]] : f32 to vector<4xf32>
// CHECK: %[[ACC:.*]]:2 = scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]], %{{.*}} = %[[INIT]])
// CHECK: %[[LO:.*]] = arith.maximumf %[[ACC]]#0, %[[ZERO]] : vector<4xf32>
// CHECK: %[[HI:.*]] = arith.minimumf %[[LO]], %[[SIX]] : vector<4xf32>
// CHECK: vector.store %[[HI]], %{{.*}}[%[[O]], %{{.*}}, %{{.*}}]
func.func @forward(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32>
  %b = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %y = pattern.packed_conv2d %x, %w, %b library <3x3, [[1, 3, 4, 5]]> filter_order [1, 0] offsets [0, 1, 2] channels [0, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <relu6>
         {schedule = #pattern.schedule<tile_rows = 2, tile_cols = 4, tile_filters = 1, tile_channels = 0, vector_width = 4, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 1>}
         : tensor<1x1x4x4xf32>, tensor<2x4xf32>, tensor<2xf32> -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// A clamp keeps its own bounds; a conv without bias starts from zeros.
// CHECK-LABEL: func.func private @pattern_conv_0(
// CHECK-DAG: %[[MIN:.*]] = arith.constant dense<-1.000000e+00> : vector<4xf32>
// CHECK-DAG: %[[MAX:.*]] = arith.constant dense<2.500000e+00> : vector<4xf32>
// CHECK: %[[ACC:.*]]:2 = scf.for
// CHECK: %[[LO:.*]] = arith.maximumf %[[ACC]]#0, %[[MIN]] : vector<4xf32>
// CHECK: arith.minimumf %[[LO]], %[[MAX]] : vector<4xf32>
// The entry passes a zero bias.
// CHECK-LABEL: func.func @forward
// CHECK: arith.constant dense<0.000000e+00> : tensor<1xf32>
func.func @forward(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5]]> filter_order [0] offsets [0, 1] channels [0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <clamp>
         {clamp_min = -1.0 : f32, clamp_max = 2.5 : f32,
          schedule = #pattern.schedule<tile_rows = 2, tile_cols = 4, tile_filters = 1, tile_channels = 0, vector_width = 4, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 1>}
         : tensor<1x1x4x4xf32>, tensor<1x4xf32> -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

// No #pattern.schedule: the default for a 3x37 output on the host is one block
// of 3 rows x (16 + 16 + 8) columns, the last vector stored under a 5-lane mask,
// with input prefetch. For arm64-neon, nine vector<4xf32> per row and a vector<1xf32>.
// CHECK-LABEL: func.func private @pattern_conv_0(
// CHECK: %[[MASK:.*]] = vector.constant_mask [5] : vector<8xi1>
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<8xf32>, vector<16xf32>, vector<16xf32>, vector<8xf32>, vector<16xf32>, vector<16xf32>, vector<8xf32>)
// CHECK: memref.prefetch
// CHECK: vector.fma {{.*}} : vector<16xf32>
// CHECK: vector.fma {{.*}} : vector<8xf32>
// CHECK: vector.maskedstore {{.*}}, %[[MASK]], {{.*}} : memref<1x3x37xf32>, vector<8xi1>, vector<8xf32>
// NEON-LABEL: func.func private @pattern_conv_0({{.*}}memref<1x3x37xf32>
// NEON-NOT: vector<16xf32>
// NEON: vector.fma {{.*}} : vector<1xf32>
// NEON-NOT: vector<16xf32>
// NEON: vector.store {{.*}} : memref<1x3x37xf32>, vector<1xf32>
func.func @forward(%x: tensor<1x1x3x37xf32>) -> tensor<1x1x3x37xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5]]> filter_order [0] offsets [0, 1] channels [0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : tensor<1x1x3x37xf32>, tensor<1x4xf32> -> tensor<1x1x3x37xf32>
  return %y : tensor<1x1x3x37xf32>
}

// -----

// Filter register blocking (tile_filters = 2): filters 0 and 1 form a block whose
// kernel runs go in lockstep for min(run lengths) kernels, one loop carrying both
// filters' accumulators; the rest of each run follows alone, then filter 2 alone.
// CHECK-LABEL: func.func private @pattern_conv_0(
// CHECK: %[[N:.*]] = arith.subi %{{.*}}, %{{.*}} : index
// CHECK: %[[TAIL:.*]] = arith.remui %[[N]], %c2 : index
// CHECK: %[[MID:.*]] = arith.subi %{{.*}}, %[[TAIL]] : index
// CHECK: scf.for %[[F:.*]] = %{{.*}} to %[[MID]] step %c2 {
// CHECK: %[[COMMON:.*]] = arith.minui %{{.*}}, %{{.*}} : index
// CHECK: scf.for %{{.*}} = %c0 to %[[COMMON]] step %c1 iter_args(%{{.*}} = %[[A:[^,]*]], %{{.*}} = %[[B:[^)]*]]) -> (vector<4xf32>, vector<4xf32>)
// CHECK-COUNT-8: vector.fma
// CHECK-NOT: vector.fma
// CHECK: scf.yield
// CHECK: scf.for
// CHECK: scf.for
// CHECK-COUNT-2: vector.store
// CHECK: scf.for %{{.*}} = %[[MID]] to %{{.*}} step %c1 {
func.func @forward(%x: tensor<1x2x4x4xf32>) -> tensor<1x3x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5]]> filter_order [0, 1, 2] offsets [0, 2, 3, 4] channels [0, 1, 0, 1]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         {schedule = #pattern.schedule<tile_rows = 1, tile_cols = 4, tile_filters = 2, tile_channels = 0, vector_width = 4, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 1>}
         : tensor<1x2x4x4xf32>, tensor<4x4xf32> -> tensor<1x3x4x4xf32>
  return %y : tensor<1x3x4x4xf32>
}

// -----

// A schedule's `threads` caps the filter groups below the pass's thread count: with
// threads = 1 the entry calls the kernel once for all filters, even at threads=2.
// NEON-LABEL: func.func private @pattern_conv_0_entry(%{{[^:]*}}: memref<1x2x5x5xf32>
// NEON-NOT: scf.parallel
// NEON: %[[END:.*]] = arith.constant 3 : index
// NEON: call @pattern_conv_0({{.*}}, %[[END]])
// NEON-NOT: scf.parallel
// NEON: return
func.func @forward(%x: tensor<1x2x5x5xf32>) -> tensor<1x3x5x5xf32> {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5]]> filter_order [0, 1, 2] offsets [0, 2, 3, 4] channels [0, 1, 0, 1]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         {schedule = #pattern.schedule<tile_rows = 1, tile_cols = 4, tile_filters = 1, tile_channels = 0, vector_width = 4, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 1>}
         : tensor<1x2x5x5xf32>, tensor<4x4xf32> -> tensor<1x3x5x5xf32>
  return %y : tensor<1x3x5x5xf32>
}

// -----

// kernel_order = by_channel: the kernel takes each filter's kernel range per channel
// block and every kernel's tap offsets instead of per-pattern runs, and runs one loop
// whose 4 taps each load at their offset from the table. Filter 1 (reordered position 1)
// has kernels of channels 0 and 1 (patterns 0 and 1), in channel order: tap offsets are
// channel * 6 * 16 + the tap's row * 16 + column (rows of 16 floats, 6 padded rows).
// CHECK-LABEL: func.func @by_channel
// CHECK: %[[STARTS:.*]] = arith.constant dense<{{\[}}[0, 1, 3]]> : tensor<1x3xi32>
// CHECK: %[[TAPS:.*]] = arith.constant dense<{{\[}}[1, 16, 17, 18], [1, 16, 17, 18], [97, 113, 114, 129]]> : tensor<3x4xi32>
// CHECK-LABEL: func.func private @pattern_conv_0(
// CHECK-SAME: %{{[^:]*}}: memref<1x3xi32>, %{{[^:]*}}: memref<?x4xi32>, %{{[^:]*}}: memref<?x4xf32>
// CHECK: scf.for
// CHECK: scf.for {{.*}} iter_args
// CHECK-COUNT-4: memref.load %{{.*}} : memref<?x4xi32>
// CHECK: scf.yield
func.func @by_channel(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<3x4xf32>
  %y = pattern.packed_conv2d %x, %w library <3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> filter_order [0, 1] offsets [0, 1, 1, 2, 3] channels [0, 0, 1]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         {schedule = #pattern.schedule<tile_rows = 2, tile_cols = 4, tile_filters = 1, tile_channels = 0, vector_width = 4, unroll = 1, prefetch = 0, loop_order = rows_outer, threads = 1, kernel_order = by_channel>}
         : tensor<1x2x4x4xf32>, tensor<3x4xf32> -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}
