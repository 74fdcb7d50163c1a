// RUN: pattern-opt %s -split-input-file -verify-diagnostics --pattern-vectorize-dense=target=x86-64-v4

// A block-sparse op is lowered by this pass only: weights that are not constants are
// refused at the op, not left for bufferization to fail on later.
func.func @runtime_weights(%x: tensor<3x5xf32>, %w: tensor<3x8xf32>) -> tensor<3x12xf32> {
  // expected-error @+1 {{'pattern.block_matmul' cannot be lowered: its weights (and bias) must be constants and its input batch 1}}
  %y = pattern.block_matmul %x, %w block_rows 8 offsets [0, 2, 3] channels [1, 3, 4]
         : tensor<3x5xf32>, tensor<3x8xf32> -> tensor<3x12xf32>
  return %y : tensor<3x12xf32>
}
