// RUN: pattern-opt %s --pattern-vectorize-dense=target=x86-64-v4 | FileCheck %s

// ReflectionPad2d(1) as torch-mlir writes it: two generics (rows, then columns), each
// reading its input at positions from index tables (passes/dense/positions.py, passes/dense/fuse.py).
// Positions are evaluated at compile time; the column pass is split where its positions
// stop being a line (the reflected columns at each end, the copied middle), and the row
// pass is computed at the column pass's reads instead of written as a tensor: one pass,
// whose middle columns are one contiguous row read of the input.
// CHECK-LABEL: func.func @forward
// CHECK-NOT: tensor<1x2x6x5xf32>
// CHECK: tensor.extract_slice {{.*}} to tensor<1x2x6x2xf32>
// CHECK: tensor.insert_slice
// CHECK: tensor.extract_slice {{.*}} to tensor<1x2x6x4xf32>
// CHECK: vector.transfer_read %arg0{{.*}} : tensor<1x2x4x5xf32>, vector<4xf32>
// CHECK: tensor.insert_slice
// CHECK: tensor.extract_slice {{.*}} to tensor<1x2x6x1xf32>
// CHECK: tensor.insert_slice
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

