// RUN: pattern-opt %s -verify-diagnostics --pattern-widen-bool-tensors

// A bool tensor crossing a function boundary has no rule (widening it there would store
// i1 again): an error naming the op, not an assertion in the LLVM lowering later.
func.func @boundary(%b: tensor<4xi1>) -> tensor<4xi1> {
  // expected-error @+1 {{'func.return' reads or makes an i1 tensor that no rule widens}}
  return %b : tensor<4xi1>
}
