// RUN: pattern-opt %s --pattern-copy-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @strided_copy
// CHECK-SAME: (%[[A:.*]]: memref<4x4xf32>, %[[B:.*]]: memref<4x4xf32, strided<[8, 1]>>)
// CHECK: linalg.copy {{.*}}ins(%[[A]] : memref<4x4xf32>) outs(%[[B]] : memref<4x4xf32, strided<[8, 1]>>)
// CHECK-NOT: memref.copy
func.func @strided_copy(%a: memref<4x4xf32>, %b: memref<4x4xf32, strided<[8, 1]>>) {
  memref.copy %a, %b : memref<4x4xf32> to memref<4x4xf32, strided<[8, 1]>>
  return
}
