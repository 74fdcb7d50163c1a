// RUN: pattern-opt %s -split-input-file --pattern-vectorize-dense=target=x86-64-v4 | FileCheck %s

// Reads at computed positions (tensor.extract in the body) in the transform-dialect route.

// Nearest upsampling as torch-mlir writes it: positions from linalg.index. Vectorised along
// the output row (not flattened: the flat index would need divisions to give back the
// row and column); the row is one position for all lanes, the columns fixed offsets from the
// row's start (i // 2 once canonicalised): a read of half the row and a shuffle.
// CHECK-LABEL: func.func @nearest
// CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1
// CHECK: scf.for %{{.*}} = %c0 to %c8 step %c1
// CHECK-NOT: vector.gather
// CHECK: vector.shuffle %{{.*}} [0, 0, 1, 1, 2, 2, 3, 3] : vector<4xf32>, vector<4xf32>
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

// -----

// Nearest upsampling as the front end writes it (frontend/torch_decompositions.py): rows and
// columns picked through constant index tables, as torch's indexing lowers. The column table
// is (i // 2) (passes/dense/positions.py writes it as arithmetic on the index), so a row's
// lanes read fixed offsets from one position: one contiguous read of half the row and a
// shuffle, no gather (passes/dense/gather_shuffles.py).
// CHECK-LABEL: func.func @nearest_tables
// CHECK-NOT: vector.gather
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1, 2, 3]] : tensor<1x2x4x4xf32> into tensor<32xf32>
// CHECK: %[[ROW:.*]] = vector.transfer_read %[[FLAT]][%{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<32xf32>, vector<4xf32>
// CHECK: vector.shuffle %[[ROW]], %[[ROW]] [0, 0, 1, 1, 2, 2, 3, 3] : vector<4xf32>, vector<4xf32>
// CHECK-NOT: vector.gather
// CHECK: return
func.func @nearest_tables(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x8x8xf32> {
  %c0_i64 = arith.constant 0 : i64
  %c4_i64 = arith.constant 4 : i64
  %c0 = arith.constant 0 : index
  %rows = arith.constant dense<[[0], [0], [1], [1], [2], [2], [3], [3]]> : tensor<8x1xi64>
  %cols = arith.constant dense<[0, 0, 1, 1, 2, 2, 3, 3]> : tensor<8xi64>
  %e = tensor.empty() : tensor<1x2x8x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d2, 0)>, affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%rows, %cols : tensor<8x1xi64>, tensor<8xi64>) outs(%e : tensor<1x2x8x8xf32>) {
  ^bb0(%row: i64, %col: i64, %out: f32):
    %c = linalg.index 1 : index
    %neg = arith.cmpi slt, %col, %c0_i64 : i64
    %wrapped = arith.addi %col, %c4_i64 : i64
    %w = arith.select %neg, %wrapped, %col : i64
    %wx = arith.index_cast %w : i64 to index
    %hx = arith.index_cast %row : i64 to index
    %v = tensor.extract %x[%c0, %c, %hx, %wx] : tensor<1x2x4x4xf32>
    linalg.yield %v : f32
  } -> tensor<1x2x8x8xf32>
  return %r : tensor<1x2x8x8xf32>
}

// -----

// A stride-2 read along the row: the span of 8 lanes is 15 elements, read once and shuffled.
// A stride-3 read spans 22, more than SPAN_PER_LANE (2) elements per lane: it stays a gather.
// CHECK-LABEL: func.func @stride2
// CHECK: vector.transfer_read {{.*}} : tensor<64xf32>, vector<15xf32>
// CHECK: vector.shuffle {{.*}} [0, 2, 4, 6, 8, 10, 12, 14] : vector<15xf32>, vector<15xf32>
// CHECK-LABEL: func.func @stride3
// CHECK: vector.gather
// CHECK-NOT: vector.shuffle
func.func @stride2(%x: tensor<1x1x4x16xf32>) -> tensor<1x1x4x8xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %e = tensor.empty() : tensor<1x1x4x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         outs(%e : tensor<1x1x4x8xf32>) {
  ^bb0(%out: f32):
    %h = linalg.index 2 : index
    %w = linalg.index 3 : index
    %w3 = arith.muli %w, %c2 : index
    %v = tensor.extract %x[%c0, %c0, %h, %w3] : tensor<1x1x4x16xf32>
    linalg.yield %v : f32
  } -> tensor<1x1x4x8xf32>
  return %r : tensor<1x1x4x8xf32>
}

func.func @stride3(%x: tensor<1x1x4x24xf32>) -> tensor<1x1x4x8xf32> {
  %c0 = arith.constant 0 : index
  %c3 = arith.constant 3 : index
  %e = tensor.empty() : tensor<1x1x4x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         outs(%e : tensor<1x1x4x8xf32>) {
  ^bb0(%out: f32):
    %h = linalg.index 2 : index
    %w = linalg.index 3 : index
    %w3 = arith.muli %w, %c3 : index
    %v = tensor.extract %x[%c0, %c0, %h, %w3] : tensor<1x1x4x24xf32>
    linalg.yield %v : f32
  } -> tensor<1x1x4x8xf32>
  return %r : tensor<1x1x4x8xf32>
}

// -----

// A bicubic tap's columns: (i // 2 - 1) clamped at 0, from a constant table. Written back as
// arithmetic on the index (passes/dense/positions.py: divide, subtract, clamp), the lanes
// are fixed offsets again: one read and a shuffle.
// CHECK-LABEL: func.func @clamped_tap
// CHECK-NOT: vector.gather
// CHECK: vector.transfer_read {{.*}} : tensor<32xf32>, vector<7xf32>
// CHECK: vector.shuffle %{{.*}} [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6] : vector<7xf32>, vector<7xf32>
// CHECK: return
func.func @clamped_tap(%x: tensor<1x1x4x8xf32>) -> tensor<1x1x4x16xf32> {
  %c0 = arith.constant 0 : index
  %cols = arith.constant dense<[0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]> : tensor<16xi64>
  %e = tensor.empty() : tensor<1x1x4x16xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%cols : tensor<16xi64>) outs(%e : tensor<1x1x4x16xf32>) {
  ^bb0(%col: i64, %out: f32):
    %h = linalg.index 2 : index
    %w = arith.index_cast %col : i64 to index
    %v = tensor.extract %x[%c0, %c0, %h, %w] : tensor<1x1x4x8xf32>
    linalg.yield %v : f32
  } -> tensor<1x1x4x16xf32>
  return %r : tensor<1x1x4x16xf32>
}
