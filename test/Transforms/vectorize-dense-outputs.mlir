// RUN: pattern-opt %s -split-input-file --pattern-vectorize-dense=target=x86-64-v4 | FileCheck %s

// Where results are allocated. A kernel's product that is only reshaped (the heads of a
// batched matmul, 3x8x8, expanded back to 1x3x8x8) is allocated in the reshaped shape and
// the kernel writes through a collapsed view, so the function returns the allocation
// itself, which becomes the caller's buffer (no copy into it).
// CHECK-LABEL: func.func @forward
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x3x8x8xf32>
// CHECK: %[[VIEW:.*]] = memref.collapse_shape %[[OUT]] {{\[\[}}0, 1], [2], [3]] : memref<1x3x8x8xf32> into memref<3x8x8xf32>
// CHECK: call @dense_0_entry(%{{.*}}, %{{.*}}, %[[VIEW]])
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[OUT]]
// CHECK-NOT: tensor.expand_shape
// CHECK: return %[[T]] : tensor<1x3x8x8xf32>
func.func @forward(%a: tensor<3x8x16xf32>, %b: tensor<3x16x8xf32>) -> tensor<1x3x8x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x8x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<3x8x8xf32>) -> tensor<3x8x8xf32>
  %p = linalg.batch_matmul ins(%a, %b : tensor<3x8x16xf32>, tensor<3x16x8xf32>) outs(%f : tensor<3x8x8xf32>) -> tensor<3x8x8xf32>
  %r = tensor.expand_shape %p [[0, 1], [2], [3]] output_shape [1, 3, 8, 8] : tensor<3x8x8xf32> into tensor<1x3x8x8xf32>
  return %r : tensor<1x3x8x8xf32>
}

// -----

// An elementwise result whose one use is a reshape (heads moved behind the tokens, then
// merged into channels) is allocated in the reshaped shape and written through the inverse
// reshape; two results of one type get an allocation each (CSE merges tensor.empty ops,
// not allocations).
// CHECK-LABEL: func.func @reshaped
// CHECK: %[[A:.*]] = bufferization.alloc_tensor() : tensor<1x4x48xf32>
// CHECK: tensor.expand_shape %[[A]] {{\[\[}}0], [1], [2, 3]] output_shape [1, 4, 3, 16]
// CHECK-LABEL: func.func @two_results
// CHECK: bufferization.alloc_tensor() : tensor<4x64xf32>
// CHECK: bufferization.alloc_tensor() : tensor<4x64xf32>
func.func @reshaped(%x: tensor<1x3x4x16xf32>) -> tensor<1x4x48xf32> {
  %e = tensor.empty() : tensor<1x4x3x16xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d2, d1, d3)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%x : tensor<1x3x4x16xf32>) outs(%e : tensor<1x4x3x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.mulf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<1x4x3x16xf32>
  %r = tensor.collapse_shape %t [[0], [1], [2, 3]] : tensor<1x4x3x16xf32> into tensor<1x4x48xf32>
  return %r : tensor<1x4x48xf32>
}

func.func @two_results(%x: tensor<4x64xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>) {
  %e = tensor.empty() : tensor<4x64xf32>
  %a = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
         ins(%x : tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = math.exp %in : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  %b = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
         ins(%a : tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.mulf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  return %a, %b : tensor<4x64xf32>, tensor<4x64xf32>
}

// -----

// Heads moved back behind the tokens (a transpose that keeps the last dimension last) and
// merged into channels: the transpose becomes a generic route 2 vectorises a row of 16 at
// a time, allocated in the merged shape (the caller's buffer, no copy). A transpose of the
// last dimension stays as it is (a vector along it would be one element per row).
// CHECK-LABEL: func.func @heads_back
// CHECK-NOT: linalg.transpose
// CHECK: bufferization.alloc_tensor() : tensor<1x4x48xf32>
// CHECK: vector.transfer_read {{.*}} vector<16xf32>
// CHECK-LABEL: func.func @last_dim
// CHECK: linalg.transpose
func.func @heads_back(%x: tensor<1x3x4x16xf32>) -> tensor<1x4x48xf32> {
  %e = tensor.empty() : tensor<1x4x3x16xf32>
  %t = linalg.transpose ins(%x : tensor<1x3x4x16xf32>) outs(%e : tensor<1x4x3x16xf32>) permutation = [0, 2, 1, 3]
  %r = tensor.collapse_shape %t [[0], [1], [2, 3]] : tensor<1x4x3x16xf32> into tensor<1x4x48xf32>
  return %r : tensor<1x4x48xf32>
}

func.func @last_dim(%x: tensor<1x4x16xf32>) -> tensor<1x16x4xf32> {
  %e = tensor.empty() : tensor<1x16x4xf32>
  %t = linalg.transpose ins(%x : tensor<1x4x16xf32>) outs(%e : tensor<1x16x4xf32>) permutation = [0, 2, 1]
  return %t : tensor<1x16x4xf32>
}

// -----

// Two kernel results, each only reshaped, in one function: both allocated in their
// reshaped shapes (the rewrite of the first erases its reshape, which the walk must not
// visit again: fuzz seed 7033 crashed there).
// CHECK-LABEL: func.func @two_products
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<1x3x8x8xf32>
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<1x3x8x8xf32>
// CHECK-NOT: tensor.expand_shape
// CHECK: return
func.func @two_products(%a: tensor<3x8x16xf32>, %b: tensor<3x16x8xf32>) -> (tensor<1x3x8x8xf32>, tensor<1x3x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x8x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<3x8x8xf32>) -> tensor<3x8x8xf32>
  %p = linalg.batch_matmul ins(%a, %b : tensor<3x8x16xf32>, tensor<3x16x8xf32>) outs(%f : tensor<3x8x8xf32>) -> tensor<3x8x8xf32>
  %r = tensor.expand_shape %p [[0, 1], [2], [3]] output_shape [1, 3, 8, 8] : tensor<3x8x8xf32> into tensor<1x3x8x8xf32>
  %q = linalg.batch_matmul ins(%a, %b : tensor<3x8x16xf32>, tensor<3x16x8xf32>) outs(%f : tensor<3x8x8xf32>) -> tensor<3x8x8xf32>
  %s = tensor.expand_shape %q [[0, 1], [2], [3]] output_shape [1, 3, 8, 8] : tensor<3x8x8xf32> into tensor<1x3x8x8xf32>
  return %r, %s : tensor<1x3x8x8xf32>, tensor<1x3x8x8xf32>
}
