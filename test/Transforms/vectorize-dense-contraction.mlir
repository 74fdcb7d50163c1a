// RUN: pattern-opt %s --pattern-vectorize-dense=target=x86-64-v4 | FileCheck %s

// q @ k^T of attention: q's heads are moved in front of the tokens by an expand_shape and a
// transpose of the projection %x, k is [heads][keys][dim] and read transposed through the
// indexing maps. The kernel reads %x in place (no transpose is left: A at any strides, the
// head offset 8 per product); k's columns (the keys) are not contiguous in any layout up its
// chain, so the entry transposes its rows of 8 to [heads][dim][keys] once, through registers
// (8 x 8 tiles of shuffles; 5 keys are no whole tile, so here element by element).

// The transpose's positions: key j, dim d of head h read at 40 h + 8 j + d, written at
// 40 h + 5 d + j.
// CHECK-DAG: #[[READ:.*]] = affine_map<(d0, d1, d2) -> (d2 * 40 + d0 * 8 + d1)>
// CHECK-DAG: #[[WRITE:.*]] = affine_map<(d0, d1, d2) -> (d2 * 40 + d1 * 5 + d0)>
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: tensor<7x24xf32>, %[[K:.*]]: tensor<3x5x8xf32>)
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK: %[[KB:.*]] = bufferization.to_buffer %[[K]] read_only
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<3x7x5xf32>
// CHECK: call @dense_0_entry(%[[XB]], %[[KB]], %[[OUT]])
// CHECK-NOT: linalg.
// CHECK: return

// The kernel: the batch loop over the 3 heads outside the column tile and row block loops,
// 5 keys as one masked vector.
// CHECK-LABEL: func.func private @dense_0(
// CHECK-SAME: %{{.*}}: memref<168xf32>, %{{.*}}: memref<120xf32>, %{{.*}}: memref<105xf32>)
// CHECK: %[[MASK:.*]] = vector.constant_mask [5] : vector<16xi1>
// CHECK: scf.for %[[B:.*]] = %{{.*}} to %c3 step
// CHECK: arith.muli %[[B]], %c8 : index
// CHECK: scf.for
// CHECK: vector.maskedload %{{.*}}, %[[MASK]], %{{.*}} : memref<120xf32>
// CHECK: vector.fma
// CHECK: vector.maskedstore %{{.*}}, %[[MASK]], %{{.*}} : memref<105xf32>

// CHECK-LABEL: func.func private @dense_0_bt(
// CHECK-SAME: %{{.*}}: memref<120xf32>, %{{.*}}: memref<120xf32>)
// CHECK: scf.for %[[H:.*]] = %c0 to %c3 step %c1
// CHECK: scf.for %[[KEY:.*]] = %c0 to %c5 step %c1
// CHECK: scf.for %[[D:.*]] = %c0 to %c8 step %c1
// CHECK: affine.apply #[[READ:.*]](%[[KEY]], %[[D]], %[[H]])
// CHECK: affine.apply #[[WRITE:.*]](%[[KEY]], %[[D]], %[[H]])

// CHECK-LABEL: func.func private @dense_0_entry(
// CHECK: call @dense_0_bt(
// CHECK-NOT: linalg.copy
// CHECK: call @dense_0(

func.func @forward(%x: tensor<7x24xf32>, %k: tensor<3x5x8xf32>) -> tensor<3x7x5xf32> {
  %e = tensor.expand_shape %x [[0], [1, 2]] output_shape [7, 3, 8] : tensor<7x24xf32> into tensor<7x3x8xf32>
  %eq = tensor.empty() : tensor<3x7x8xf32>
  %q = linalg.transpose ins(%e : tensor<7x3x8xf32>) outs(%eq : tensor<3x7x8xf32>) permutation = [1, 0, 2]
  %cst = arith.constant 0.0 : f32
  %eo = tensor.empty() : tensor<3x7x5xf32>
  %f = linalg.fill ins(%cst : f32) outs(%eo : tensor<3x7x5xf32>) -> tensor<3x7x5xf32>
  %r = linalg.batch_matmul indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>,
                                            affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>,
                                            affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>]
       ins(%q, %k : tensor<3x7x8xf32>, tensor<3x5x8xf32>) outs(%f : tensor<3x7x5xf32>) -> tensor<3x7x5xf32>
  return %r : tensor<3x7x5xf32>
}
