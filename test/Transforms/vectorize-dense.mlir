// RUN: pattern-opt %s -split-input-file --pattern-vectorize-dense=target=x86-64-v4 | FileCheck %s
// RUN: pattern-opt %s -split-input-file --pattern-vectorize-dense="target=arm64-neon threads=2" | FileCheck %s --check-prefix=NEON

// A 1x1 conv with a bias broadcast and a ReLU consumer becomes one kernel call: the
// bias initialises the accumulators, the ReLU runs on them before the stores, and no
// linalg op is left in @forward.

// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: tensor<1x8x5x6xf32>)
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x20x5x6xf32>
// CHECK: call @dense_0_entry(%[[XB]], %{{.*}}, %{{.*}}, %[[OUT]])
// CHECK: %[[Y:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]

// The kernel: weights packed [row blocks][C][taps][rows] (192 = 20 rows padded to 24 x 8),
// pixels along 16-lane vectors (30 = one full vector and a 14-lane one), 12 rows x 2
// vectors of accumulators carried through the reduction loop, unrolled by 2.
// CHECK-LABEL: func.func private @dense_0(
// CHECK-SAME: %{{.*}}: memref<192xf32>, %{{.*}}: memref<240xf32>, %{{.*}}: memref<20xf32>, %{{.*}}: memref<600xf32>)
// CHECK: %[[MASK:.*]] = vector.constant_mask [14] : vector<16xi1>
// CHECK: scf.for
// CHECK: vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK: scf.for {{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>
// CHECK: vector.load %{{.*}} : memref<240xf32>, vector<16xf32>
// CHECK: vector.maskedload %{{.*}}, %[[MASK]], %{{.*}} : memref<240xf32>, vector<16xi1>, vector<16xf32> into vector<16xf32>
// CHECK: memref.load %{{.*}} : memref<192xf32>
// CHECK: vector.fma %{{.*}} : vector<16xf32>
// CHECK: scf.yield
// Epilogue: the consumer's body on vectors, then a full and a masked store.
// CHECK: arith.cmpf ugt, %{{.*}} : vector<16xf32>
// CHECK: arith.select %{{.*}} : vector<16xi1>, vector<16xf32>
// CHECK: vector.store %{{.*}} : memref<600xf32>, vector<16xf32>
// CHECK: vector.maskedstore %{{.*}}, %[[MASK]], %{{.*}} : memref<600xf32>, vector<16xi1>, vector<16xf32>

// A stride-1 1x1 conv reads its input in place.
// CHECK-LABEL: func.func private @dense_0_entry
// CHECK-NOT: memref.alloc
// CHECK: memref.collapse_shape %{{.*}} {{\[}}[0, 1, 2, 3]] : memref<1x8x5x6xf32> into memref<240xf32>
// CHECK: call @dense_0(

// On NEON the vectors have 4 lanes: 30 pixels are a full tile of 4 vectors and a tail of
// 4 vectors, the last with 2 lanes.
// NEON-LABEL: func.func private @dense_0(
// NEON: %[[MASK:.*]] = vector.constant_mask [2] : vector<4xi1>
// NEON: vector.fma %{{.*}} : vector<4xf32>
// NEON: vector.maskedstore %{{.*}}, %[[MASK]], %{{.*}} : memref<600xf32>, vector<4xi1>, vector<4xf32>
func.func @forward(%x: tensor<1x8x5x6xf32>) -> tensor<1x20x5x6xf32> {
  %w = arith.constant dense<0.5> : tensor<20x8x1x1xf32>
  %b = arith.constant dense<0.25> : tensor<20xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x20x5x6xf32>
  %bb = linalg.broadcast ins(%b : tensor<20xf32>) outs(%e : tensor<1x20x5x6xf32>) dimensions = [0, 2, 3]
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%x, %w : tensor<1x8x5x6xf32>, tensor<20x8x1x1xf32>) outs(%bb : tensor<1x20x5x6xf32>) -> tensor<1x20x5x6xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%c : tensor<1x20x5x6xf32>) outs(%e : tensor<1x20x5x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %p = arith.cmpf ugt, %in, %zero : f32
    %s = arith.select %p, %in, %zero : f32
    linalg.yield %s : f32
  } -> tensor<1x20x5x6xf32>
  return %r : tensor<1x20x5x6xf32>
}

// -----

// A 3x3 stride-2 conv on a padded input (3 channels, like a network's first layer): the
// tensor.pad is folded into the entry, which writes the 2x2 phase planes of each channel
// (12 = 3 channels x 4 phases of 6x6) into a zeroed scratch buffer; every tap is then a
// contiguous load at a constant offset. Outputs are computed on rows of 6 (the plane width)
// and the 5 valid columns are copied out.

// CHECK-LABEL: func.func @forward
// CHECK-NOT: tensor.pad
// CHECK: call @dense_0_entry(
// CHECK-LABEL: func.func private @dense_0(
// CHECK-SAME: memref<108xf32>, %{{.*}}: memref<432xf32>, %{{.*}}: memref<4xf32>, %{{.*}}: memref<120xf32>)
// CHECK: iter_args
// CHECK-COUNT-9: vector.maskedload
// CHECK: scf.yield
// CHECK-LABEL: func.func private @dense_0_entry
// CHECK: %[[BUF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<12x6x6xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[BUF]] : memref<12x6x6xf32>)
// CHECK: memref.subview %{{.*}}[0, 1, 1] [3, 4, 4] [1, 2, 2]
// CHECK: linalg.copy
// CHECK-COUNT-3: linalg.copy
// CHECK: %[[TMP:.*]] = memref.alloc() {alignment = 64 : i64} : memref<120xf32>
// CHECK: %[[T3:.*]] = memref.expand_shape %[[TMP]] {{\[}}[0, 1, 2]] output_shape [4, 5, 6]
// CHECK: %[[VALID:.*]] = memref.subview %[[T3]][0, 0, 0] [4, 5, 5] [1, 1, 1]
// CHECK: call @dense_0(%{{.*}}, %{{.*}}, %{{.*}}, %[[TMP]])
// CHECK: linalg.copy ins(%[[VALID]]
func.func @forward(%x: tensor<1x3x9x9xf32>) -> tensor<1x4x5x5xf32> {
  %w = arith.constant dense<0.5> : tensor<4x3x3x3xf32>
  %b = arith.constant dense<0.25> : tensor<4xf32>
  %zero = arith.constant 0.0 : f32
  %xp = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<1x3x9x9xf32> to tensor<1x3x11x11xf32>
  %e = tensor.empty() : tensor<1x4x5x5xf32>
  %bb = linalg.broadcast ins(%b : tensor<4xf32>) outs(%e : tensor<1x4x5x5xf32>) dimensions = [0, 2, 3]
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
         ins(%xp, %w : tensor<1x3x11x11xf32>, tensor<4x3x3x3xf32>) outs(%bb : tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  return %c : tensor<1x4x5x5xf32>
}

// -----

// nn.Linear as torch-mlir writes it: a transpose of the constant weight feeding a matmul.
// The transpose is folded into the packing (weights in [N/tile][K][tile] column panels,
// 64 = 4 vectors of 16 for N = 50), K = 12 is unrolled by 4, and the bias add that follows
// (a broadcast along rows, not fused) goes through the transform-dialect route.

// CHECK-LABEL: func.func @forward
// CHECK-NOT: linalg.transpose
// CHECK-NOT: linalg.matmul
// CHECK: call @dense_0_entry(
// The bias add: tiled along N by 64 (the remainder is none here), 50-lane vector ops.
// CHECK: vector.transfer_read {{.*}} vector<50xf32>
// CHECK: arith.addf %{{.*}} : vector<50xf32>
// CHECK: vector.transfer_write
// CHECK-LABEL: func.func private @dense_0(
// CHECK-SAME: %{{.*}}: memref<24xf32>, %{{.*}}: memref<768xf32>, %{{.*}}: memref<100xf32>)
// CHECK: %[[MASK:.*]] = vector.constant_mask [2] : vector<16xi1>
// CHECK: scf.for {{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>
// CHECK-COUNT-16: vector.fma
// CHECK: scf.yield
// CHECK: vector.maskedstore %{{.*}}, %[[MASK]]
func.func @forward(%x: tensor<2x12xf32>) -> tensor<2x50xf32> {
  %w = arith.constant dense<0.125> : tensor<50x12xf32>
  %b = arith.constant dense<1.0> : tensor<50xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<12x50xf32>
  %t = linalg.transpose ins(%w : tensor<50x12xf32>) outs(%e : tensor<12x50xf32>) permutation = [1, 0]
  %o = tensor.empty() : tensor<2x50xf32>
  %f = linalg.fill ins(%zero : f32) outs(%o : tensor<2x50xf32>) -> tensor<2x50xf32>
  %m = linalg.matmul ins(%x, %t : tensor<2x12xf32>, tensor<12x50xf32>) outs(%f : tensor<2x50xf32>) -> tensor<2x50xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
         ins(%m, %b : tensor<2x50xf32>, tensor<50xf32>) outs(%o : tensor<2x50xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %s = arith.addf %in, %in_0 : f32
    linalg.yield %s : f32
  } -> tensor<2x50xf32>
  return %r : tensor<2x50xf32>
}

// -----

// Depthwise 3x3 with ReLU6 written as two generics (max with a scalar 0, min with a
// scalar 6): a per-channel stencil. The five channels are staged, zero padded, into 10x10
// scratch planes (the tensor.pad is folded away) before any of them is computed, so a tap's
// load never spans rows the copy has just stored. Rows 8 wide are half a vector: a channel
// runs 5 vectors over the planes' row pitch of 10 (78 positions) instead of 8 masked rows,
// 9 loads at constant offsets and 9 FMAs each, then shuffles each row out of the vectors it
// lies in; both generics are fused into the row's store.

// CHECK-LABEL: func.func @forward
// CHECK-NOT: linalg.
// CHECK: call @dense_0_entry(
// CHECK-LABEL: func.func private @dense_0(
// CHECK-SAME: %[[STAGE:[^:]*]]: memref<500xf32>, %[[OUT:[^:]*]]: memref<320xf32>)
// CHECK: %[[MASK:.*]] = vector.constant_mask [8] : vector<16xi1>
// CHECK: scf.for
// CHECK: vector.store %{{.*}}, %[[STAGE]]
// CHECK: scf.for %[[BATCH:[^ ]*]] =
// CHECK: scf.for %{{.*}} = %[[BATCH]]
// CHECK: vector.maskedload %{{.*}}, %[[MASK]]
// CHECK: vector.maskedstore %[[STAGE]]
// CHECK: scf.for %{{.*}} = %[[BATCH]]
// CHECK-COUNT-9: vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK-COUNT-45: vector.fma
// CHECK-NOT: vector.fma
// CHECK: vector.shuffle {{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0, 0, 0, 0, 0]
// CHECK: arith.cmpf ogt
// CHECK: arith.select
// CHECK: arith.cmpf olt
// CHECK: arith.select
// CHECK: vector.maskedstore %[[OUT]]{{.*}}, %[[MASK]]
// CHECK: vector.shuffle {{.*}} [10, 11, 12, 13, 14, 15, 16, 17, 0, 0, 0, 0, 0, 0, 0, 0]
// With threads=2 the channels are split over two scf.parallel groups.
// NEON-LABEL: func.func @forward(%{{.*}}: tensor<1x5x8x8xf32>)
// NEON: func.func private @dense_0(
// NEON: scf.parallel
// NEON: vector.fma %{{.*}} : vector<4xf32>
// NEON: scf.reduce
func.func @forward(%x: tensor<1x5x8x8xf32>) -> tensor<1x5x8x8xf32> {
  %w = arith.constant dense<0.5> : tensor<5x1x3x3xf32>
  %b = arith.constant dense<0.25> : tensor<5xf32>
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant dense<0.0> : tensor<f32>
  %c6 = arith.constant dense<6.0> : tensor<f32>
  %xp = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<1x5x8x8xf32> to tensor<1x5x10x10xf32>
  %e = tensor.empty() : tensor<1x5x8x8xf32>
  %bb = linalg.broadcast ins(%b : tensor<5xf32>) outs(%e : tensor<1x5x8x8xf32>) dimensions = [0, 2, 3]
  %wc = tensor.collapse_shape %w [[0, 1], [2], [3]] : tensor<5x1x3x3xf32> into tensor<5x3x3xf32>
  %d = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%xp, %wc : tensor<1x5x10x10xf32>, tensor<5x3x3xf32>) outs(%bb : tensor<1x5x8x8xf32>) -> tensor<1x5x8x8xf32>
  %lo = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                         affine_map<(d0, d1, d2, d3) -> ()>,
                                         affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                        iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%d, %c0 : tensor<1x5x8x8xf32>, tensor<f32>) outs(%e : tensor<1x5x8x8xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %p = arith.cmpf ogt, %in, %in_0 : f32
    %s = arith.select %p, %in, %in_0 : f32
    linalg.yield %s : f32
  } -> tensor<1x5x8x8xf32>
  %hi = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> ()>,
                                         affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                         affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                        iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%c6, %lo : tensor<f32>, tensor<1x5x8x8xf32>) outs(%e : tensor<1x5x8x8xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %p = arith.cmpf olt, %in, %in_0 : f32
    %s = arith.select %p, %in, %in_0 : f32
    linalg.yield %s : f32
  } -> tensor<1x5x8x8xf32>
  return %hi : tensor<1x5x8x8xf32>
}

// -----

// 2x2 stride-2 max pooling: the -inf fill of the output becomes the accumulator's initial
// value. The windows tile the image two columns wide, so each channel is read in place (no
// staging): per output vector one load from each of the window's two rows (masked: a row
// has 8 columns), combined with maximumf, then the even lanes with the odd lanes, then the
// initial value.

// CHECK-LABEL: func.func @forward
// CHECK-NOT: linalg.pooling_nchw_max
// CHECK: call @dense_0_entry(
// CHECK-LABEL: func.func private @dense_0(
// CHECK-SAME: memref<256xf32>, %{{.*}}: memref<64xf32>)
// CHECK: %[[NINF:.*]] = arith.constant dense<0xFF800000> : vector<16xf32>
// CHECK: %[[TOP:.*]] = vector.maskedload
// CHECK: %[[BOTTOM:.*]] = vector.maskedload
// CHECK: %[[ROWS:.*]] = arith.maximumf %[[TOP]], %[[BOTTOM]] : vector<16xf32>
// CHECK: %[[EVEN:.*]] = vector.shuffle %[[ROWS]], %{{.*}} [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30]
// CHECK: %[[ODD:.*]] = vector.shuffle %[[ROWS]], %{{.*}} [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31]
// CHECK: %[[W:.*]] = arith.maximumf %[[EVEN]], %[[ODD]]
// CHECK: %[[Y:.*]] = arith.maximumf %[[NINF]], %[[W]]
// CHECK: vector.maskedstore %{{.*}}, %{{.*}}, %[[Y]]
// CHECK-LABEL: func.func private @dense_0_entry
// CHECK-NOT: memref.alloc
// CHECK-NOT: linalg.copy
// With 4-lane vectors an output vector reads two whole vectors from each row.
// NEON-LABEL: func.func @forward(%{{.*}}: tensor<1x4x8x8xf32>)
// NEON: func.func private @dense_0(
// NEON-COUNT-4: vector.load
// NEON: vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4, 6] : vector<4xf32>, vector<4xf32>
// NEON: vector.shuffle %{{.*}}, %{{.*}} [1, 3, 5, 7] : vector<4xf32>, vector<4xf32>
func.func @forward(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<1x4x4x4xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %r = linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
         ins(%x, %win : tensor<1x4x8x8xf32>, tensor<2x2xf32>) outs(%f : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %r : tensor<1x4x4x4xf32>
}

// -----

// The transform-dialect route alone: an elementwise add of identity-indexed operands is
// flattened (1x24x7x9 = 1512 elements), split at 1472 = 23 x 64 and tiled by 64, so both
// the loop body and the 40-element remainder are static vector ops; a small global sum
// (7x9 per channel) becomes one vector.reduction per channel.

// CHECK-LABEL: func.func @forward
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0, 1, 2, 3]] : tensor<1x24x7x9xf32> into tensor<1512xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: vector.transfer_read {{.*}} : tensor<64xf32>, vector<64xf32>
// CHECK: arith.addf %{{.*}} : vector<64xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<40xf32>, vector<40xf32>
// CHECK: arith.addf %{{.*}} : vector<40xf32>
// CHECK: scf.for
// CHECK: vector.reduction <add>, %{{.*}} : vector<63xf32> into f32
// CHECK-NOT: linalg.generic
// NEON-LABEL: func.func @forward(%{{.*}}: tensor<1x24x7x9xf32>, %{{.*}}: tensor<1x24x7x9xf32>)
// NEON: vector.transfer_read {{.*}} : tensor<16xf32>, vector<16xf32>
// NEON: arith.addf %{{.*}} : vector<16xf32>
func.func @forward(%x: tensor<1x24x7x9xf32>, %y: tensor<1x24x7x9xf32>) -> (tensor<1x24x7x9xf32>, tensor<1x24x1x1xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x24x7x9xf32>
  %a = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%x, %y : tensor<1x24x7x9xf32>, tensor<1x24x7x9xf32>) outs(%e : tensor<1x24x7x9xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %s = arith.addf %in, %in_0 : f32
    linalg.yield %s : f32
  } -> tensor<1x24x7x9xf32>
  %e2 = tensor.empty() : tensor<1x24x1x1xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x24x1x1xf32>) -> tensor<1x24x1x1xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                          affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>],
                         iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
         ins(%a : tensor<1x24x7x9xf32>) outs(%f : tensor<1x24x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<1x24x1x1xf32>
  return %a, %sum : tensor<1x24x7x9xf32>, tensor<1x24x1x1xf32>
}

// -----

// A dense 3x3 stride-1 conv with 16 channels and filters runs through Winograd's
// F(2x2, 3x3): the input is copied into zero-padded planes of 2 x 3 tiles + 2 (8x8), the
// input transform writes V[16][C][T] (T = 3 x 3 tiles, masked: fewer than a vector), a batch
// of 16 GEMMs (filters x channels by channels x tiles) writes M, and the output transform
// adds the bias, applies the ReLU and stores 5 of each row's 6 columns.

// CHECK-LABEL: func.func @forward
// CHECK-NOT: tensor.pad
// CHECK: call @dense_0_entry(
// CHECK-LABEL: func.func private @dense_0_in(
// CHECK-SAME: %{{.*}}: memref<1056xf32>, %{{.*}}: memref<2304xf32>)
// CHECK: vector.load {{.*}} : memref<1056xf32>, vector<32xf32>
// CHECK: vector.shuffle {{.*}} [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<32xf32>, vector<32xf32>
// CHECK-COUNT-16: vector.maskedstore
// CHECK-LABEL: func.func private @dense_0_gemm(
// CHECK-SAME: %{{.*}}: memref<{{[0-9]+}}xf32>, %{{.*}}: memref<2304xf32>, %{{.*}}: memref<2320xf32>)
// CHECK: vector.fma
// CHECK-LABEL: func.func private @dense_0_out(
// CHECK-SAME: %{{.*}}: memref<2320xf32>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<400xf32>)
// CHECK: vector.shuffle {{.*}} [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23] : vector<16xf32>, vector<16xf32>
// CHECK: arith.cmpf ugt
// CHECK: vector.maskedstore %{{.*}} : memref<400xf32>, vector<16xi1>, vector<16xf32>
// CHECK-LABEL: func.func private @dense_0_entry
// CHECK: memref.subview %{{.*}}[0, 1, 1] [16, 5, 5] [1, 1, 1]
// CHECK: linalg.copy
// CHECK: call @dense_0_in(
// CHECK: call @dense_0_gemm(
// CHECK: call @dense_0_out(

// NEON-LABEL: func.func private @dense_0_in(
// NEON: vector.shuffle {{.*}} [0, 2, 4, 6] : vector<8xf32>, vector<8xf32>
// NEON: scf.parallel
func.func @forward(%x: tensor<1x16x5x5xf32>) -> tensor<1x16x5x5xf32> {
  %w = arith.constant dense<0.5> : tensor<16x16x3x3xf32>
  %b = arith.constant dense<0.25> : tensor<16xf32>
  %zero = arith.constant 0.0 : f32
  %xp = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<1x16x5x5xf32> to tensor<1x16x7x7xf32>
  %e = tensor.empty() : tensor<1x16x5x5xf32>
  %bb = linalg.broadcast ins(%b : tensor<16xf32>) outs(%e : tensor<1x16x5x5xf32>) dimensions = [0, 2, 3]
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%xp, %w : tensor<1x16x7x7xf32>, tensor<16x16x3x3xf32>) outs(%bb : tensor<1x16x5x5xf32>) -> tensor<1x16x5x5xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%c : tensor<1x16x5x5xf32>) outs(%e : tensor<1x16x5x5xf32>) {
  ^bb0(%in: f32, %out: f32):
    %p = arith.cmpf ugt, %in, %zero : f32
    %s = arith.select %p, %in, %zero : f32
    linalg.yield %s : f32
  } -> tensor<1x16x5x5xf32>
  return %r : tensor<1x16x5x5xf32>
}
