// RUN: pattern-opt %s -split-input-file --pattern-split-groups | FileCheck %s

// nn.Conv2d(4, 6, 3, groups=2) as torch-mlir imports it: two convs on channel slices, each
// with its group's weights, put together by insert_slice; the grouped op and the reshapes
// into its layout are gone.
// CHECK-LABEL: func.func @grouped
// CHECK-NOT: conv_2d_ngchw_gfchw
// CHECK: %[[OUT:.*]] = tensor.empty() : tensor<1x6x5x5xf32>
// CHECK: %[[W0:.*]] = arith.constant dense<{{.*}}> : tensor<3x2x3x3xf32>
// CHECK: %[[X0:.*]] = tensor.extract_slice %arg0[0, 0, 0, 0] [1, 2, 7, 7] [1, 1, 1, 1]
// CHECK: %[[I0:.*]] = tensor.extract_slice %[[B:.*]][0, 0, 0, 0] [1, 3, 5, 5] [1, 1, 1, 1]
// CHECK: %[[Y0:.*]] = linalg.conv_2d_nchw_fchw {{.*}} ins(%[[X0]], %[[W0]] : {{.*}}) outs(%[[I0]] : {{.*}})
// CHECK: %[[R0:.*]] = tensor.insert_slice %[[Y0]] into %[[OUT]][0, 0, 0, 0] [1, 3, 5, 5]
// CHECK: tensor.extract_slice %arg0[0, 2, 0, 0] [1, 2, 7, 7]
// CHECK: tensor.extract_slice %[[B]][0, 3, 0, 0] [1, 3, 5, 5]
// CHECK: %[[Y1:.*]] = linalg.conv_2d_nchw_fchw
// CHECK: %[[R1:.*]] = tensor.insert_slice %[[Y1]] into %[[R0]][0, 3, 0, 0] [1, 3, 5, 5]
// CHECK-NOT: tensor.expand_shape
// CHECK: return %[[R1]]
func.func @grouped(%x: tensor<1x4x7x7xf32>, %b: tensor<1x6x5x5xf32>) -> tensor<1x6x5x5xf32> {
  %w = arith.constant dense<1.0> : tensor<6x2x3x3xf32>
  %x5 = tensor.expand_shape %x [[0], [1, 2], [3], [4]] output_shape [1, 2, 2, 7, 7] : tensor<1x4x7x7xf32> into tensor<1x2x2x7x7xf32>
  %w5 = tensor.expand_shape %w [[0, 1], [2], [3], [4]] output_shape [2, 3, 2, 3, 3] : tensor<6x2x3x3xf32> into tensor<2x3x2x3x3xf32>
  %b5 = tensor.expand_shape %b [[0], [1, 2], [3], [4]] output_shape [1, 2, 3, 5, 5] : tensor<1x6x5x5xf32> into tensor<1x2x3x5x5xf32>
  %y5 = linalg.conv_2d_ngchw_gfchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
        ins(%x5, %w5 : tensor<1x2x2x7x7xf32>, tensor<2x3x2x3x3xf32>) outs(%b5 : tensor<1x2x3x5x5xf32>) -> tensor<1x2x3x5x5xf32>
  %y = tensor.collapse_shape %y5 [[0], [1, 2], [3], [4]] : tensor<1x2x3x5x5xf32> into tensor<1x6x5x5xf32>
  return %y : tensor<1x6x5x5xf32>
}

// Runtime weights: left alone.
// CHECK-LABEL: func.func @runtime_weights
// CHECK: linalg.conv_2d_ngchw_gfchw
func.func @runtime_weights(%x5: tensor<1x2x2x7x7xf32>, %w5: tensor<2x3x2x3x3xf32>, %b5: tensor<1x2x3x5x5xf32>) -> tensor<1x2x3x5x5xf32> {
  %y5 = linalg.conv_2d_ngchw_gfchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
        ins(%x5, %w5 : tensor<1x2x2x7x7xf32>, tensor<2x3x2x3x3xf32>) outs(%b5 : tensor<1x2x3x5x5xf32>) -> tensor<1x2x3x5x5xf32>
  return %y5 : tensor<1x2x3x5x5xf32>
}

// A flatten folded into the collapse (torch.flatten of the grouped conv's output): that
// collapse is no merge back into NCHW, so it reads the split result through an expand_shape
// into the grouped layout (it once got the 4-D result in place of its own type).
// CHECK-LABEL: func.func @flattened
// CHECK-NOT: conv_2d_ngchw_gfchw
// CHECK: %[[R:.*]] = tensor.insert_slice
// CHECK: %[[R1:.*]] = tensor.insert_slice
// CHECK: %[[E:.*]] = tensor.expand_shape %[[R1]] {{\[}}[0], [1, 2], [3], [4]] output_shape [1, 2, 3, 5, 5]
// CHECK: %[[F:.*]] = tensor.collapse_shape %[[E]] {{\[}}[0, 1, 2, 3, 4]] : tensor<1x2x3x5x5xf32> into tensor<150xf32>
// CHECK: return %[[F]]
func.func @flattened(%x: tensor<1x4x7x7xf32>, %b: tensor<1x6x5x5xf32>) -> tensor<150xf32> {
  %w = arith.constant dense<1.0> : tensor<6x2x3x3xf32>
  %x5 = tensor.expand_shape %x [[0], [1, 2], [3], [4]] output_shape [1, 2, 2, 7, 7] : tensor<1x4x7x7xf32> into tensor<1x2x2x7x7xf32>
  %w5 = tensor.expand_shape %w [[0, 1], [2], [3], [4]] output_shape [2, 3, 2, 3, 3] : tensor<6x2x3x3xf32> into tensor<2x3x2x3x3xf32>
  %b5 = tensor.expand_shape %b [[0], [1, 2], [3], [4]] output_shape [1, 2, 3, 5, 5] : tensor<1x6x5x5xf32> into tensor<1x2x3x5x5xf32>
  %y5 = linalg.conv_2d_ngchw_gfchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
        ins(%x5, %w5 : tensor<1x2x2x7x7xf32>, tensor<2x3x2x3x3xf32>) outs(%b5 : tensor<1x2x3x5x5xf32>) -> tensor<1x2x3x5x5xf32>
  %y = tensor.collapse_shape %y5 [[0, 1, 2, 3, 4]] : tensor<1x2x3x5x5xf32> into tensor<150xf32>
  return %y : tensor<150xf32>
}

// -----

// nn.Conv2d(4, 6, 3, padding=1, groups=2): torch-mlir pads the whole input once. Each group
// pads its own slice of the unpadded input instead, so each conv folds its padding into the
// planes it reads; the padding of the whole input is gone.
// CHECK-LABEL: func.func @grouped_padded
// CHECK-NOT: tensor<1x4x7x7xf32>
// CHECK: %[[X0:.*]] = tensor.extract_slice %arg0[0, 0, 0, 0] [1, 2, 5, 5] [1, 1, 1, 1]
// CHECK: %[[P0:.*]] = tensor.pad %[[X0]] low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: tensor.yield %[[ZERO:.*]] : f32
// CHECK: } : tensor<1x2x5x5xf32> to tensor<1x2x7x7xf32>
// CHECK: linalg.conv_2d_nchw_fchw {{.*}} ins(%[[P0]], %{{.*}} : tensor<1x2x7x7xf32>, tensor<3x2x3x3xf32>)
// CHECK: %[[X1:.*]] = tensor.extract_slice %arg0[0, 2, 0, 0] [1, 2, 5, 5] [1, 1, 1, 1]
// CHECK: tensor.pad %[[X1]] low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK-NOT: tensor<1x4x7x7xf32>
// CHECK: return
func.func @grouped_padded(%x: tensor<1x4x5x5xf32>, %b: tensor<1x6x5x5xf32>) -> tensor<1x6x5x5xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<1.0> : tensor<6x2x3x3xf32>
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x4x5x5xf32> to tensor<1x4x7x7xf32>
  %x5 = tensor.expand_shape %p [[0], [1, 2], [3], [4]] output_shape [1, 2, 2, 7, 7] : tensor<1x4x7x7xf32> into tensor<1x2x2x7x7xf32>
  %w5 = tensor.expand_shape %w [[0, 1], [2], [3], [4]] output_shape [2, 3, 2, 3, 3] : tensor<6x2x3x3xf32> into tensor<2x3x2x3x3xf32>
  %b5 = tensor.expand_shape %b [[0], [1, 2], [3], [4]] output_shape [1, 2, 3, 5, 5] : tensor<1x6x5x5xf32> into tensor<1x2x3x5x5xf32>
  %y5 = linalg.conv_2d_ngchw_gfchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
        ins(%x5, %w5 : tensor<1x2x2x7x7xf32>, tensor<2x3x2x3x3xf32>) outs(%b5 : tensor<1x2x3x5x5xf32>) -> tensor<1x2x3x5x5xf32>
  %y = tensor.collapse_shape %y5 [[0], [1, 2], [3], [4]] : tensor<1x2x3x5x5xf32> into tensor<1x6x5x5xf32>
  return %y : tensor<1x6x5x5xf32>
}
