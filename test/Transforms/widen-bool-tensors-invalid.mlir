// RUN: pattern-opt %s -split-input-file -verify-diagnostics --pattern-widen-bool-tensors

// A bool tensor crossing a function boundary has no rule (widening it there would store
// i1 again): an error naming the op, not an assertion in the LLVM lowering later.
func.func @boundary(%b: tensor<4xi1>) -> tensor<4xi1> {
  // expected-error @+1 {{'func.return' reads or makes an i1 tensor that no rule widens}}
  return %b : tensor<4xi1>
}

// -----

// A bool constant held as a resource blob: only dense elements are widened here
// (pattern-inline-resources runs first in the pipeline).
func.func @mask(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'arith.constant' holds dense_resource<blob> : tensor<4xi1>, which pattern-widen-bool-tensors cannot widen}}
  %c = arith.constant dense_resource<blob> : tensor<4xi1>
  %e = tensor.empty() : tensor<4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%c, %x : tensor<4xi1>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%m: i1, %in: f32, %out: f32):
    %zero = arith.constant 0.0 : f32
    %s = arith.select %m, %in, %zero : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}

{-#
  dialect_resources: {
    builtin: {
      blob: "0x0100000001000100"
    }
  }
#-}
