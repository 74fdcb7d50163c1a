// RUN: pattern-opt %s -split-input-file --pattern-vectorize-dense=target=x86-64-v4 | FileCheck %s

// Reads at computed positions (tensor.extract in the body) in the transform-dialect route.

// Nearest upsampling as torch-mlir writes it: positions from linalg.index. Vectorised along
// the output row (not flattened: the flat index would need divisions to give back the
// row and column); the row is one position for all lanes, the columns a gather.
// CHECK-LABEL: func.func @nearest
// CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1
// CHECK: scf.for %{{.*}} = %c0 to %c8 step %c1
// CHECK: vector.gather {{.*}} into vector<1x1x1x8xf32>
// CHECK-NOT: arith.divsi
// CHECK: vector.transfer_write {{.*}} : vector<8xf32>
// CHECK: return
func.func @nearest(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x8x8xf32> {
  %c0 = arith.constant 0 : index
  %two = arith.constant 2.0 : f32
  %e = tensor.empty() : tensor<1x2x8x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         outs(%e : tensor<1x2x8x8xf32>) {
  ^bb0(%out: f32):
    %c = linalg.index 1 : index
    %h = linalg.index 2 : index
    %w = linalg.index 3 : index
    %hi = arith.index_cast %h : index to i64
    %hf = arith.sitofp %hi : i64 to f32
    %hd = arith.divf %hf, %two : f32
    %hfl = math.floor %hd : f32
    %hs = arith.fptosi %hfl : f32 to i64
    %hx = arith.index_cast %hs : i64 to index
    %wi = arith.index_cast %w : index to i64
    %wf = arith.sitofp %wi : i64 to f32
    %wd = arith.divf %wf, %two : f32
    %wfl = math.floor %wd : f32
    %ws = arith.fptosi %wfl : f32 to i64
    %wx = arith.index_cast %ws : i64 to index
    %v = tensor.extract %x[%c0, %c, %hx, %wx] : tensor<1x2x4x4xf32>
    linalg.yield %v : f32
  } -> tensor<1x2x8x8xf32>
  return %r : tensor<1x2x8x8xf32>
}

// -----

// Each column's position read from an index table that is not known at compile time (a
// padding's constant tables are evaluated: vectorize-dense-positions.mlir). A vector of
// such reads is a gather through 64-bit lane arithmetic, slower than the scalar loop, so
// the op is left to it.
// CHECK-LABEL: func.func @table
// CHECK: linalg.generic
// CHECK-NOT: vector.gather
// CHECK: return
func.func @table(%x: tensor<1x1x4x4xf32>, %cols: tensor<6xi64>) -> tensor<1x1x4x6xf32> {
  %c0 = arith.constant 0 : index
  %e = tensor.empty() : tensor<1x1x4x6xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%cols : tensor<6xi64>) outs(%e : tensor<1x1x4x6xf32>) {
  ^bb0(%col: i64, %out: f32):
    %h = linalg.index 2 : index
    %w = arith.index_cast %col : i64 to index
    %v = tensor.extract %x[%c0, %c0, %h, %w] : tensor<1x1x4x4xf32>
    linalg.yield %v : f32
  } -> tensor<1x1x4x6xf32>
  return %r : tensor<1x1x4x6xf32>
}
