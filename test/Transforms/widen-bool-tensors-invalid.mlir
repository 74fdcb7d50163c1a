// RUN: not pattern-opt %s --pattern-widen-bool-tensors 2>&1 | FileCheck %s

// A bool tensor crossing a function boundary has no rule (widening it there would store
// i1 again): an error naming the op, not an assertion in the LLVM lowering later.
// CHECK: error: pattern-widen-bool-tensors: no rule to widen the i1 tensor at func.return
func.func @boundary(%b: tensor<4xi1>) -> tensor<4xi1> {
  return %b : tensor<4xi1>
}
