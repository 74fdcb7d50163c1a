// RUN: pattern-opt %s -split-input-file --pattern-vectorize-dense=target=x86-64-v4 | FileCheck %s
// RUN: pattern-opt %s -split-input-file --pattern-vectorize-dense=target=x86-64-v3 | FileCheck %s --check-prefix=AVX2
// RUN: pattern-opt %s -split-input-file --pattern-vectorize-dense=target=arm64-neon | FileCheck %s --check-prefix=NEON

// A block-sparse 1x1 conv with a ReLU consumer: one kernel call; the reduction loop of
// each register block runs over the stream entries of its row block (bounds loaded from
// the offsets), reading the input plane of each entry's channel. 16 outputs in row
// blocks of 8: on AVX-512 (32 registers) a register block is a whole row block, 8 rows x
// 2 vectors (30 pixels); on AVX2 (16 registers) half of one, 4 rows x 3 vectors of 8.

// CHECK-LABEL: func.func @forward
// CHECK: call @dense_0_entry
// CHECK-NOT: pattern.block_conv2d
// CHECK-NOT: linalg.generic
// CHECK: return
// CHECK-LABEL: func.func private @dense_0(
// CHECK-SAME: %{{.*}}: memref<24xf32>, %{{.*}}: memref<90xf32>, %[[OFF:.*]]: memref<3xi32>, %[[CHAN:.*]]: memref<3xi32>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<480xf32>)
// CHECK: %[[KEY:.*]] = arith.divui %{{.*}}, %{{.*}} : index
// CHECK: memref.load %[[OFF]][%[[KEY]]] : memref<3xi32>
// CHECK: %[[LO:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK: %[[HI:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK: scf.for %[[K:.*]] = %[[LO]] to %[[HI]] step %{{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: %[[C:.*]] = memref.load %[[CHAN]][%[[K]]] : memref<3xi32>
// CHECK: arith.index_cast %[[C]] : i32 to index
// CHECK: vector.fma
// CHECK: scf.yield
// CHECK: arith.cmpf ugt
// AVX2-LABEL: func.func private @dense_0(
// AVX2: scf.for {{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// NEON-LABEL: func.func private @dense_0(
// NEON: vector.fma %{{.*}} : vector<4xf32>
func.func @forward(%x: tensor<1x3x5x6xf32>) -> tensor<1x16x5x6xf32> {
  %w = arith.constant dense<0.5> : tensor<3x1x8xf32>
  %b = arith.constant dense<0.25> : tensor<16xf32>
  %y = pattern.block_conv2d %x, %w, %b kernel [1, 1] block_rows 8 offsets [0, 2, 3] channels [0, 2, 1]
         strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : tensor<1x3x5x6xf32>, tensor<3x1x8xf32>, tensor<16xf32> -> tensor<1x16x5x6xf32>
  %e = tensor.empty() : tensor<1x16x5x6xf32>
  %zero = arith.constant 0.0 : f32
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%y : tensor<1x16x5x6xf32>) outs(%e : tensor<1x16x5x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %gt = arith.cmpf ugt, %in, %zero : f32
    %v = arith.select %gt, %in, %zero : f32
    linalg.yield %v : f32
  } -> tensor<1x16x5x6xf32>
  return %r : tensor<1x16x5x6xf32>
}

// -----

// A block-sparse linear: the vector runs along the outputs, one 8-output block per vector
// (a 256-bit vector on AVX-512, two 4-lane vectors on NEON); the loop of a column tile runs
// over its blocks' stream entries and broadcasts the input at each entry's channel. 12
// outputs: one full tile and a 4-lane tail, whose stores are masked.
// CHECK-LABEL: func.func private @dense_0(
// CHECK-SAME: %{{.*}}: memref<15xf32>, %{{.*}}: memref<24xf32>, %[[OFF:.*]]: memref<3xi32>, %[[CHAN:.*]]: memref<3xi32>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<36xf32>)
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: memref.load %[[CHAN]][%[[K]]]
// CHECK: vector.load %{{.*}} : memref<24xf32>, vector<8xf32>
// CHECK: vector.fma %{{.*}} : vector<8xf32>
// CHECK: vector.maskedstore
// NEON-LABEL: func.func private @dense_0(
// NEON: scf.for {{.*}} iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
func.func @linear(%x: tensor<3x5xf32>) -> tensor<3x12xf32> {
  %w = arith.constant dense<1.0> : tensor<3x8xf32>
  %b = arith.constant dense<1.5> : tensor<12xf32>
  %y = pattern.block_matmul %x, %w, %b block_rows 8 offsets [0, 2, 3] channels [1, 3, 4]
         : tensor<3x5xf32>, tensor<3x8xf32>, tensor<12xf32> -> tensor<3x12xf32>
  return %y : tensor<3x12xf32>
}
