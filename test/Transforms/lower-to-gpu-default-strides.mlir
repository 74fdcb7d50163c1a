// RUN: pattern-opt %s --pattern-lower-to-gpu | FileCheck %s

// A conv without a strides attribute has linalg's default strides of 1 (a mutation campaign
// found the GPU's conv matcher reading the absent attribute): it lowers to a GPU kernel.
// CHECK-NOT: linalg.conv_2d_nchw_fchw
// CHECK: gpu.func
func.func @forward(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  %w = arith.constant dense<0.25> : tensor<2x2x3x3xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x3x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>}
         ins(%x, %w : tensor<1x2x5x5xf32>, tensor<2x2x3x3xf32>) outs(%f : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
}
