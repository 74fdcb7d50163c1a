// RUN: pattern-opt %s --split-input-file --pattern-widen-bool-tensors | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>

// A compare, an all-reduction seeded by a fill and a select: the PReLU / attention-mask
// shape torch-mlir emits. The bool tensors become i8; bodies still compute on i1.
// CHECK-LABEL: func.func @compare_reduce_select
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x8xi8>
// CHECK: %[[CMP:.*]] = linalg.generic {{.*}} outs(%[[E]] : tensor<4x8xi8>)
// CHECK:   arith.cmpf ogt
// CHECK:   %[[X:.*]] = arith.extui %{{.*}} : i1 to i8
// CHECK:   linalg.yield %[[X]] : i8
// CHECK: %[[TRUE:.*]] = arith.extui %true : i1 to i8
// CHECK: %[[FILL:.*]] = linalg.fill ins(%[[TRUE]] : i8) outs(%{{.*}} : tensor<4x1xi8>)
// CHECK: %[[ALL:.*]] = linalg.generic {{.*}} ins(%[[CMP]] : tensor<4x8xi8>) outs(%[[FILL]] : tensor<4x1xi8>)
// CHECK:   ^bb0(%[[IN:.*]]: i8, %[[OUT:.*]]: i8):
// CHECK-DAG: arith.trunci %[[OUT]] : i8 to i1
// CHECK-DAG: arith.trunci %[[IN]] : i8 to i1
// CHECK:   arith.andi
// CHECK:   arith.extui
// CHECK: } -> tensor<4x1xi8>
// CHECK: linalg.generic {{.*}} ins(%[[ALL]], %{{.*}} : tensor<4x1xi8>, tensor<4x8xf32>)
// CHECK:   %[[C:.*]] = arith.trunci %{{.*}} : i8 to i1
// CHECK:   arith.select %[[C]]
// CHECK-NOT: xi1>
func.func @compare_reduce_select(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %true = arith.constant true
  %e = tensor.empty() : tensor<4x8xi1>
  %cmp = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xi1>) {
  ^bb0(%in: f32, %out: i1):
    %c = arith.cmpf ogt, %in, %zero : f32
    linalg.yield %c : i1
  } -> tensor<4x8xi1>
  %e1 = tensor.empty() : tensor<4x1xi1>
  %init = linalg.fill ins(%true : i1) outs(%e1 : tensor<4x1xi1>) -> tensor<4x1xi1>
  %all = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%cmp : tensor<4x8xi1>) outs(%init : tensor<4x1xi1>) {
  ^bb0(%in: i1, %out: i1):
    %a = arith.andi %in, %out : i1
    linalg.yield %a : i1
  } -> tensor<4x1xi1>
  %ef = tensor.empty() : tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%all, %x : tensor<4x1xi1>, tensor<4x8xf32>) outs(%ef : tensor<4x8xf32>) {
  ^bb0(%c: i1, %in: f32, %out: f32):
    %s = arith.select %c, %zero, %in : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// Constants, reshapes, scalar and vector reads and writes of a bool tensor.
// CHECK-LABEL: func.func @moves_and_accesses
// CHECK: arith.constant dense<[1, 0, 1, 1]> : tensor<4xi8>
// CHECK: tensor.expand_shape {{.*}} : tensor<4xi8> into tensor<2x2xi8>
// CHECK: %[[S:.*]] = tensor.extract {{.*}} : tensor<2x2xi8>
// CHECK: arith.trunci %[[S]] : i8 to i1
// CHECK: %[[PAD:.*]] = arith.extui %false : i1 to i8
// CHECK: %[[V:.*]] = vector.transfer_read %{{.*}}, %[[PAD]] {{.*}} : tensor<4xi8>, vector<4xi8>
// CHECK: %[[VB:.*]] = arith.trunci %[[V]] : vector<4xi8> to vector<4xi1>
// CHECK: %[[N:.*]] = arith.xori %[[VB]]
// CHECK: %[[NX:.*]] = arith.extui %[[N]] : vector<4xi1> to vector<4xi8>
// CHECK: vector.transfer_write %[[NX]], {{.*}} : vector<4xi8>, tensor<4xi8>
func.func @moves_and_accesses(%i: index, %m: vector<4xi1>) -> (i1, vector<4xf32>) {
  %c = arith.constant dense<[true, false, true, true]> : tensor<4xi1>
  %false = arith.constant false
  %c0 = arith.constant 0 : index
  %r = tensor.expand_shape %c [[0, 1]] output_shape [2, 2] : tensor<4xi1> into tensor<2x2xi1>
  %s = tensor.extract %r[%i, %i] : tensor<2x2xi1>
  %v = vector.transfer_read %c[%c0], %false {in_bounds = [true]} : tensor<4xi1>, vector<4xi1>
  %ones = arith.constant dense<true> : vector<4xi1>
  %n = arith.xori %v, %ones : vector<4xi1>
  %e = tensor.empty() : tensor<4xi1>
  %w = vector.transfer_write %n, %e[%c0], %m {in_bounds = [true]} : vector<4xi1>, tensor<4xi1>
  %back = vector.transfer_read %w[%c0], %false {in_bounds = [true]} : tensor<4xi1>, vector<4xi1>
  %one = arith.constant dense<1.0> : vector<4xf32>
  %zero = arith.constant dense<0.0> : vector<4xf32>
  %f = arith.select %back, %one, %zero : vector<4xi1>, vector<4xf32>
  return %s, %f : i1, vector<4xf32>
}

// -----

// A bool tensor carried through a loop: the iter_arg, the result and the yield follow.
// CHECK-LABEL: func.func @loop_carried
// CHECK: scf.for {{.*}} iter_args(%[[T:.*]] = %{{.*}}) -> (tensor<4xi8>)
// CHECK:   %[[X:.*]] = arith.extui %{{.*}} : i1 to i8
// CHECK:   %[[U:.*]] = tensor.insert %[[X]] into %[[T]][%{{.*}}] : tensor<4xi8>
// CHECK:   scf.yield %[[U]] : tensor<4xi8>
func.func @loop_carried(%b: i1) -> i1 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %init = arith.constant dense<false> : tensor<4xi1>
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%t = %init) -> (tensor<4xi1>) {
    %u = tensor.insert %b into %t[%i] : tensor<4xi1>
    scf.yield %u : tensor<4xi1>
  }
  %s = tensor.extract %r[%c1] : tensor<4xi1>
  return %s : i1
}
