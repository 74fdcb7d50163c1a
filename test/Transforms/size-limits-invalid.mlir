// RUN: pattern-opt %s -split-input-file -verify-diagnostics --pattern-vectorize-dense
// RUN: pattern-opt %s -split-input-file -verify-diagnostics --pattern-gpu-prepare
// RUN: not pattern-opt %s -split-input-file --pattern-vectorize-dense 2>&1 | FileCheck %s --check-prefix=CPU
// RUN: not pattern-opt %s -split-input-file --pattern-gpu-prepare 2>&1 | FileCheck %s --check-prefix=GPU

// Shapes no target can hold are refused by name before any code is built for them: reading
// this constant would allocate 36 TiB, and upstream MLIR aborts on sizes past 32 bits.
// Each pass names its own limit.
// CPU: size-limits-invalid.mlir:[[# @LINE + 4]]:8: error: 'arith.constant' has a tensor<1099511627776x3x3xf32> of 9895604649984 elements, more than pattern-vectorize-dense allows: 17179869184
// GPU: size-limits-invalid.mlir:[[# @LINE + 3]]:8: error: 'arith.constant' has a tensor<1099511627776x3x3xf32> of 9895604649984 elements, more than pattern-gpu-prepare allows: 2147483647 (GPU kernels index in 32 bits)
func.func @forward(%x: tensor<1x1099511627776x10x10xf32>) -> tensor<1x1099511627776x8x8xf32> {
  // expected-error @+1 {{'arith.constant' has a tensor<1099511627776x3x3xf32> of 9895604649984 elements, more than}}
  %w = arith.constant dense<0.5> : tensor<1099511627776x3x3xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x1099511627776x8x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1099511627776x8x8xf32>) -> tensor<1x1099511627776x8x8xf32>
  %d = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%x, %w : tensor<1x1099511627776x10x10xf32>, tensor<1099511627776x3x3xf32>) outs(%f : tensor<1x1099511627776x8x8xf32>) -> tensor<1x1099511627776x8x8xf32>
  return %d : tensor<1x1099511627776x8x8xf32>
}

// -----

// Past 2^31 elements only the GPU refuses (32-bit indices); the CPU bound is 2^34.
// CPU: error: 'tensor.empty' has a tensor<2147483647x4x2147483647x2147483647xf32> of
// GPU: error: 'tensor.empty' has a tensor<2147483647x4x2147483647x2147483647xf32> of
func.func @huge(%x: tensor<2147483647x4x28x28xf32>) -> tensor<2147483647x4x2147483647x2147483647xf32> {
  // expected-error @+1 {{'tensor.empty' has a tensor<2147483647x4x2147483647x2147483647xf32> of}}
  %e = tensor.empty() : tensor<2147483647x4x2147483647x2147483647xf32>
  return %e : tensor<2147483647x4x2147483647x2147483647xf32>
}
