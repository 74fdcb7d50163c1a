// RUN: pattern-opt %s -split-input-file --pattern-raise-blocks | FileCheck %s
// RUN: pattern-opt %s -split-input-file --pattern-raise-blocks="block-rows=4 max-density=0.5" | FileCheck %s --check-prefix=ROWS4

// A 1x1 conv whose weight keeps one of two input channels for all 8 outputs: one row
// block of 8 keeping channel 0. The pad folds into the op's padding, the bias broadcast
// into its bias operand, and nothing of the linalg form is left.
// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x5x5xf32>)
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<1x1x8xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<{{.*}}> : tensor<8xf32>
// CHECK: %[[Y:.*]] = pattern.block_conv2d %[[X]], %[[W]], %[[B]] kernel [1, 1] block_rows 8 offsets [0, 1] channels [0]
// CHECK-SAME: strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.pad
// CHECK: return %[[Y]]
// With 4-row blocks the same weight keeps 2 of 4 blocks (density 0.5).
// ROWS4-LABEL: func.func @conv
// ROWS4: pattern.block_conv2d {{.*}} block_rows 4 offsets [0, 1, 2] channels [0, 0]
func.func @conv(%x: tensor<1x2x5x5xf32>) -> tensor<1x8x7x7xf32> {
  %w = arith.constant dense<[[[[0.25]], [[0.0]]], [[[0.5]], [[0.0]]], [[[0.75]], [[0.0]]], [[[1.0]], [[0.0]]], [[[1.25]], [[0.0]]], [[[1.5]], [[0.0]]], [[[1.75]], [[0.0]]], [[[2.0]], [[0.0]]]]> : tensor<8x2x1x1xf32>
  %b = arith.constant dense<0.25> : tensor<8xf32>
  %zero = arith.constant 0.0 : f32
  %xp = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<1x2x5x5xf32> to tensor<1x2x7x7xf32>
  %e = tensor.empty() : tensor<1x8x7x7xf32>
  %bb = linalg.broadcast ins(%b : tensor<8xf32>) outs(%e : tensor<1x8x7x7xf32>) dimensions = [0, 2, 3]
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%xp, %w : tensor<1x2x7x7xf32>, tensor<8x2x1x1xf32>) outs(%bb : tensor<1x8x7x7xf32>) -> tensor<1x8x7x7xf32>
  return %y : tensor<1x8x7x7xf32>
}

// -----

// nn.Linear as torch-mlir writes it: the weight transposed into linalg.matmul, the bias
// broadcast over rows as the init. 12 outputs = row blocks of 8 and 4 (the last short).
// CHECK-LABEL: func.func @linear
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<3x8xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<{{.*}}> : tensor<12xf32>
// CHECK: pattern.block_matmul %{{.*}}, %[[W]], %[[B]] block_rows 8 offsets [0, 2, 3] channels [1, 3, 4]
// CHECK-SAME: : tensor<3x5xf32>, tensor<3x8xf32>, tensor<12xf32> -> tensor<3x12xf32>
// CHECK-NOT: linalg.
func.func @linear(%x: tensor<3x5xf32>) -> tensor<3x12xf32> {
  %w = arith.constant dense<[[0.0, 0.5, 0.0, -1.0, 0.0], [0.0, 0.5, 0.0, -1.0, 0.0], [0.0, 0.5, 0.0, -1.0, 0.0], [0.0, 0.5, 0.0, -1.0, 0.0], [0.0, 0.5, 0.0, -1.0, 0.0], [0.0, 0.5, 0.0, -1.0, 0.0], [0.0, 0.5, 0.0, -1.0, 0.0], [0.0, 0.5, 0.0, -1.0, 0.0], [0.0, 0.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0, 2.0]]> : tensor<12x5xf32>
  %b = arith.constant dense<1.5> : tensor<12xf32>
  %e0 = tensor.empty() : tensor<5x12xf32>
  %wt = linalg.transpose ins(%w : tensor<12x5xf32>) outs(%e0 : tensor<5x12xf32>) permutation = [1, 0]
  %e = tensor.empty() : tensor<3x12xf32>
  %bb = linalg.broadcast ins(%b : tensor<12xf32>) outs(%e : tensor<3x12xf32>) dimensions = [0]
  %y = linalg.matmul ins(%x, %wt : tensor<3x5xf32>, tensor<5x12xf32>) outs(%bb : tensor<3x12xf32>) -> tensor<3x12xf32>
  return %y : tensor<3x12xf32>
}

// -----

// A dense weight (every block kept) and a runtime weight stay linalg.
// CHECK-LABEL: func.func @dense_and_runtime
// CHECK-NOT: pattern.block
// CHECK: linalg.matmul
// CHECK: linalg.matmul
func.func @dense_and_runtime(%x: tensor<3x8xf32>, %r: tensor<8x4xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>) {
  %w = arith.constant dense<1.0> : tensor<8x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<3x4xf32>) -> tensor<3x4xf32>
  %y = linalg.matmul ins(%x, %w : tensor<3x8xf32>, tensor<8x4xf32>) outs(%f : tensor<3x4xf32>) -> tensor<3x4xf32>
  %z = linalg.matmul ins(%x, %r : tensor<3x8xf32>, tensor<8x4xf32>) outs(%f : tensor<3x4xf32>) -> tensor<3x4xf32>
  return %y, %z : tensor<3x4xf32>, tensor<3x4xf32>
}
