// RUN: pattern-opt %s -split-input-file --pattern-raise-conv | FileCheck %s

#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

// torch-mlir's form of Conv2d(2, 2, 3, padding=1) + ReLU with pattern-pruned
// weights: the pad, the broadcast bias and the ReLU fold into pattern.conv2d,
// whose weights keep only the 3 kept kernels' taps.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x5x5xf32>)
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00], [9.000000e+00, 1.000000e+01, 1.100000e+01, 1.200000e+01]]> : tensor<3x4xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[5.000000e-01, -5.000000e-01]> : tensor<2xf32>
// CHECK: %[[Y:.*]] = pattern.conv2d %[[X]], %[[W]], %[[B]] library <3x3, {{\[}}[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0]
// CHECK-SAME: strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <relu>
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]
func.func @forward(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[[[0.0, 1.0, 0.0],   [2.0, 3.0, 4.0],   [0.0, 0.0, 0.0]],  [[0.0, 0.0, 0.0],   [0.0, 0.0, 0.0],   [0.0, 0.0, 0.0]]], [[[0.0, 5.0, 0.0],   [0.0, 6.0, 7.0],   [0.0, 8.0, 0.0]],  [[0.0, 9.0, 0.0],   [10.0, 11.0, 12.0],   [0.0, 0.0, 0.0]]]]> : tensor<2x2x3x3xf32>
  %b = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %padded = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x2x5x5xf32> to tensor<1x2x7x7xf32>
  %e = tensor.empty() : tensor<1x2x5x5xf32>
  %bias = linalg.broadcast ins(%b : tensor<2xf32>) outs(%e : tensor<1x2x5x5xf32>) dimensions = [0, 2, 3]
  %conv = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%padded, %w : tensor<1x2x7x7xf32>, tensor<2x2x3x3xf32>) outs(%bias : tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  %relu = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%conv : tensor<1x2x5x5xf32>) outs(%e : tensor<1x2x5x5xf32>) {
  ^bb0(%in: f32, %out: f32):
    %gt = arith.cmpf ugt, %in, %zero : f32
    %r = arith.select %gt, %in, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x2x5x5xf32>
  return %relu : tensor<1x2x5x5xf32>
}

// -----

// A dense 3x3 conv (every tap kept) is not a pattern conv and stays in linalg,
// saying why.
// CHECK-LABEL: func.func @dense_conv_stays
// CHECK-NOT: pattern.conv2d
// CHECK: linalg.conv_2d_nchw_fchw
// CHECK-SAME: pattern.dense = "weights follow no pattern library (more than 4 taps or no kept kernel)"
func.func @dense_conv_stays(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[[[1.0, 2.0, 3.0],   [4.0, 5.0, 6.0],   [7.0, 8.0, 9.0]],  [[10.0, 11.0, 12.0],   [13.0, 14.0, 15.0],   [16.0, 17.0, 18.0]]], [[[19.0, 20.0, 21.0],   [22.0, 23.0, 24.0],   [25.0, 26.0, 27.0]],  [[28.0, 29.0, 30.0],   [31.0, 32.0, 33.0],   [34.0, 35.0, 36.0]]]]> : tensor<2x2x3x3xf32>
  %e = tensor.empty() : tensor<1x2x3x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %conv = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%x, %w : tensor<1x2x5x5xf32>, tensor<2x2x3x3xf32>) outs(%init : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  return %conv : tensor<1x2x3x3xf32>
}

// -----

// Without a pad or bias (zero fill), with stride 2 and dilation 2: the
// geometry carries over, and no activation is fused.
// CHECK-LABEL: func.func @strided_dilated_no_bias
// CHECK: %[[Y:.*]] = pattern.conv2d %{{.*}}, %{{.*}} library
// CHECK-SAME: strides [2, 2] padding [0, 0, 0, 0] dilations [2, 2] :
// CHECK-NOT: activation
func.func @strided_dilated_no_bias(%x: tensor<1x2x9x9xf32>) -> tensor<1x2x3x3xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[[[0.0, 1.0, 0.0],   [2.0, 3.0, 4.0],   [0.0, 0.0, 0.0]],  [[0.0, 0.0, 0.0],   [0.0, 0.0, 0.0],   [0.0, 0.0, 0.0]]], [[[0.0, 5.0, 0.0],   [0.0, 6.0, 7.0],   [0.0, 8.0, 0.0]],  [[0.0, 9.0, 0.0],   [10.0, 11.0, 12.0],   [0.0, 0.0, 0.0]]]]> : tensor<2x2x3x3xf32>
  %e = tensor.empty() : tensor<1x2x3x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %conv = linalg.conv_2d_nchw_fchw {dilations = dense<2> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%x, %w : tensor<1x2x9x9xf32>, tensor<2x2x3x3xf32>) outs(%init : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  return %conv : tensor<1x2x3x3xf32>
}

// -----

// torch-mlir's ReLU6: max(x, 0) and then min(6, x), each a generic taking a 0-d
// constant tensor. Both fold into the epilogue.
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#scalar = affine_map<(d0, d1, d2, d3) -> ()>
// CHECK-LABEL: func.func @relu6_two_generics
// CHECK: %[[Y:.*]] = pattern.conv2d {{.*}} activation <relu6>
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @relu6_two_generics(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant dense<0.0> : tensor<f32>
  %c6 = arith.constant dense<6.0> : tensor<f32>
  %w = arith.constant dense<[[[[0.0, 1.0, 0.0],   [2.0, 3.0, 4.0],   [0.0, 0.0, 0.0]],  [[0.0, 0.0, 0.0],   [0.0, 0.0, 0.0],   [0.0, 0.0, 0.0]]], [[[0.0, 5.0, 0.0],   [0.0, 6.0, 7.0],   [0.0, 8.0, 0.0]],  [[0.0, 9.0, 0.0],   [10.0, 11.0, 12.0],   [0.0, 0.0, 0.0]]]]> : tensor<2x2x3x3xf32>
  %e = tensor.empty() : tensor<1x2x3x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %conv = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%x, %w : tensor<1x2x5x5xf32>, tensor<2x2x3x3xf32>) outs(%init : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %lo = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%conv, %c0 : tensor<1x2x3x3xf32>, tensor<f32>) outs(%e : tensor<1x2x3x3xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %gt = arith.cmpf ogt, %in, %in_0 : f32
    %r = arith.select %gt, %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<1x2x3x3xf32>
  %hi = linalg.generic {indexing_maps = [#scalar, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c6, %lo : tensor<f32>, tensor<1x2x3x3xf32>) outs(%e : tensor<1x2x3x3xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %lt = arith.cmpf olt, %in, %in_0 : f32
    %r = arith.select %lt, %in, %in_0 : f32
    linalg.yield %r : f32
  } -> tensor<1x2x3x3xf32>
  return %hi : tensor<1x2x3x3xf32>
}

// -----

// Convs the pattern kernels do not cover fall back to the dense path and say so:
// a 1x1 kernel, a batch of 2 (with pattern-conforming 3x3 weights) and a
// depthwise conv.
// CHECK-LABEL: func.func @dense_fallbacks
// CHECK-NOT: pattern.conv2d
// CHECK: linalg.conv_2d_nchw_fchw
// CHECK-SAME: pattern.dense = "kernel 1x1 is not 3x3"
// CHECK: linalg.conv_2d_nchw_fchw
// CHECK-SAME: pattern.dense = "batch 2: pattern kernels take batch 1"
// CHECK: linalg.depthwise_conv_2d_nchw_chw
// CHECK-SAME: pattern.dense = "linalg.depthwise_conv_2d_nchw_chw has no pattern kernel"
func.func @dense_fallbacks(%x: tensor<1x2x5x5xf32>, %xb: tensor<2x2x5x5xf32>) -> (tensor<1x2x5x5xf32>, tensor<2x2x3x3xf32>, tensor<1x2x3x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %w1 = arith.constant dense<[[[[1.0]], [[2.0]]], [[[3.0]], [[4.0]]]]> : tensor<2x2x1x1xf32>
  %e1 = tensor.empty() : tensor<1x2x5x5xf32>
  %i1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  %c1 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%x, %w1 : tensor<1x2x5x5xf32>, tensor<2x2x1x1xf32>) outs(%i1 : tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  %w3 = arith.constant dense<[[[[0.0, 1.0, 0.0],   [2.0, 3.0, 4.0],   [0.0, 0.0, 0.0]],  [[0.0, 0.0, 0.0],   [0.0, 0.0, 0.0],   [0.0, 0.0, 0.0]]], [[[0.0, 5.0, 0.0],   [0.0, 6.0, 7.0],   [0.0, 8.0, 0.0]],  [[0.0, 9.0, 0.0],   [10.0, 11.0, 12.0],   [0.0, 0.0, 0.0]]]]> : tensor<2x2x3x3xf32>
  %e2 = tensor.empty() : tensor<2x2x3x3xf32>
  %i2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x2x3x3xf32>) -> tensor<2x2x3x3xf32>
  %c2 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%xb, %w3 : tensor<2x2x5x5xf32>, tensor<2x2x3x3xf32>) outs(%i2 : tensor<2x2x3x3xf32>) -> tensor<2x2x3x3xf32>
  %wd = arith.constant dense<1.0> : tensor<2x3x3xf32>
  %e3 = tensor.empty() : tensor<1x2x3x3xf32>
  %i3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %c3 = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%x, %wd : tensor<1x2x5x5xf32>, tensor<2x3x3xf32>) outs(%i3 : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  return %c1, %c2, %c3 : tensor<1x2x5x5xf32>, tensor<2x2x3x3xf32>, tensor<1x2x3x3xf32>
}
