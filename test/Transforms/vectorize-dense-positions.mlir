// RUN: pattern-opt %s -split-input-file --pattern-vectorize-dense=target=x86-64-v4 | FileCheck %s

// ReflectionPad2d(1) as torch-mlir writes it: two generics (rows, then columns), each
// reading its input at positions from index tables (passes/dense/positions.py, passes/dense/fuse.py).
// Positions are evaluated at compile time, and the row pass is computed at the column
// pass's reads instead of written as a tensor: one pass. A padded row this short is one
// vector: one contiguous read of its input row, one shuffle (the reflected columns), one
// write; the row positions come from a table, one scalar per row.
// CHECK-LABEL: func.func @forward
// CHECK-NOT: tensor<1x2x6x5xf32>
// CHECK: scf.for
// CHECK: scf.for
// CHECK: tensor.extract %{{.*}} : tensor<6xi64>
// CHECK: %[[ROW:.*]] = vector.transfer_read {{.*}} : tensor<40xf32>, vector<5xf32>
// CHECK: vector.shuffle %[[ROW]], %[[ROW]] [1, 0, 1, 2, 3, 4, 3] : vector<5xf32>, vector<5xf32>
// CHECK-NOT: vector.gather
// CHECK-NOT: tensor<1x2x6x5xf32>
// CHECK: return
#map = affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d2, 0)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d3)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module {
  func.func @forward(%arg0: tensor<1x2x4x5xf32>) -> tensor<1x2x6x7xf32> {
    %cst = arith.constant dense<[[0], [1], [2], [3], [4], [5]]> : tensor<6x1xi64>
    %c0 = arith.constant 0 : index
    %cst_0 = arith.constant dense<[1, 0, 1, 2, 3, 4, 3]> : tensor<7xi64>
    %c6_i64 = arith.constant 6 : i64
    %c5_i64 = arith.constant 5 : i64
    %c0_i64 = arith.constant 0 : i64
    %c4_i64 = arith.constant 4 : i64
    %c2_i64 = arith.constant 2 : i64
    %cst_1 = arith.constant dense<[0, 1, 2, 3, 4]> : tensor<5xi64>
    %cst_2 = arith.constant dense<[[1], [0], [1], [2], [3], [2]]> : tensor<6x1xi64>
    %cst_3 = arith.constant dense<[[[0]], [[1]]]> : tensor<2x1x1xi64>
    %0 = tensor.empty() : tensor<1x2x6x5xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map1, #map2, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%cst_3, %cst_2, %cst_1 : tensor<2x1x1xi64>, tensor<6x1xi64>, tensor<5xi64>) outs(%0 : tensor<1x2x6x5xf32>) {
    ^bb0(%in: i64, %in_4: i64, %in_5: i64, %out: f32):
      %4 = arith.cmpi slt, %in, %c0_i64 : i64
      %5 = arith.addi %in, %c2_i64 : i64
      %6 = arith.select %4, %5, %in : i64
      %7 = arith.index_cast %6 : i64 to index
      %8 = arith.cmpi slt, %in_4, %c0_i64 : i64
      %9 = arith.addi %in_4, %c4_i64 : i64
      %10 = arith.select %8, %9, %in_4 : i64
      %11 = arith.index_cast %10 : i64 to index
      %12 = arith.cmpi slt, %in_5, %c0_i64 : i64
      %13 = arith.addi %in_5, %c5_i64 : i64
      %14 = arith.select %12, %13, %in_5 : i64
      %15 = arith.index_cast %14 : i64 to index
      %extracted = tensor.extract %arg0[%c0, %7, %11, %15] : tensor<1x2x4x5xf32>
      linalg.yield %extracted : f32
    } -> tensor<1x2x6x5xf32>
    %2 = tensor.empty() : tensor<1x2x6x7xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map1, #map2, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%cst_3, %cst, %cst_0 : tensor<2x1x1xi64>, tensor<6x1xi64>, tensor<7xi64>) outs(%2 : tensor<1x2x6x7xf32>) {
    ^bb0(%in: i64, %in_4: i64, %in_5: i64, %out: f32):
      %4 = arith.cmpi slt, %in, %c0_i64 : i64
      %5 = arith.addi %in, %c2_i64 : i64
      %6 = arith.select %4, %5, %in : i64
      %7 = arith.index_cast %6 : i64 to index
      %8 = arith.cmpi slt, %in_4, %c0_i64 : i64
      %9 = arith.addi %in_4, %c6_i64 : i64
      %10 = arith.select %8, %9, %in_4 : i64
      %11 = arith.index_cast %10 : i64 to index
      %12 = arith.cmpi slt, %in_5, %c0_i64 : i64
      %13 = arith.addi %in_5, %c5_i64 : i64
      %14 = arith.select %12, %13, %in_5 : i64
      %15 = arith.index_cast %14 : i64 to index
      %extracted = tensor.extract %1[%c0, %7, %11, %15] : tensor<1x2x6x5xf32>
      linalg.yield %extracted : f32
    } -> tensor<1x2x6x7xf32>
    return %3 : tensor<1x2x6x7xf32>
  }
}


// -----

// A padded row longer than one vector (72 columns; 64 floats at most per vector here) is
// split where its positions stop being a line: columns 1, 0 (a reversed read), the copied
// middle (contiguous reads of the input row) and the last reflected column.
// CHECK-LABEL: func.func @wide
// CHECK: tensor.extract_slice {{.*}} to tensor<1x1x2x2xf32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [1, 0] : vector<2xf32>, vector<2xf32>
// CHECK: tensor.insert_slice
// CHECK: tensor.extract_slice {{.*}} to tensor<1x1x2x69xf32>
// CHECK: vector.transfer_read %arg0{{.*}} : tensor<1x1x2x70xf32>, vector<64xf32>
// CHECK: tensor.insert_slice
// CHECK: tensor.extract_slice {{.*}} to tensor<1x1x2x1xf32>
// CHECK: tensor.insert_slice
// CHECK-NOT: vector.gather
// CHECK: return
func.func @wide(%arg0: tensor<1x1x2x70xf32>) -> tensor<1x1x2x72xf32> {
  %c0 = arith.constant 0 : index
  %rows = arith.constant dense<[[0], [1]]> : tensor<2x1xi64>
  %cols = arith.constant dense<[1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 68]> : tensor<72xi64>
  %e = tensor.empty() : tensor<1x1x2x72xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d2, 0)>, affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%rows, %cols : tensor<2x1xi64>, tensor<72xi64>) outs(%e : tensor<1x1x2x72xf32>) {
  ^bb0(%row: i64, %col: i64, %out: f32):
    %i = arith.index_cast %row : i64 to index
    %j = arith.index_cast %col : i64 to index
    %x = tensor.extract %arg0[%c0, %c0, %i, %j] : tensor<1x1x2x70xf32>
    linalg.yield %x : f32
  } -> tensor<1x1x2x72xf32>
  return %r : tensor<1x1x2x72xf32>
}
