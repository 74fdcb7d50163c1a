// RUN: pattern-opt %s --pattern-fold-constant-generics | FileCheck %s

// ConvTranspose2d's kernel as torch-mlir lowers it: dims 0 and 1 swapped, both spatial dims
// flipped by a gather from the weight constant. It becomes the flipped constant, and the fill
// and empty tensor that only fed it go too.
// CHECK-LABEL: func.func @flip
// CHECK-NOT: linalg.generic
// CHECK-NOT: linalg.fill
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}{{\[}}{{\[}}[4.000000e+00, 3.000000e+00], [2.000000e+00, 1.000000e+00]]], {{\[}}{{\[}}[8.000000e+00, 7.000000e+00], [6.000000e+00, 5.000000e+00]]]]> : tensor<2x1x2x2xf32>
// CHECK: return %[[W]]
func.func @flip() -> tensor<2x1x2x2xf32> {
  %w = arith.constant dense<[[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]]> : tensor<1x2x2x2xf32>
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x1x2x2xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x1x2x2xf32>) -> tensor<2x1x2x2xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%f : tensor<2x1x2x2xf32>) {
  ^bb0(%out: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %i3 = linalg.index 3 : index
    %h = arith.subi %c1, %i2 : index
    %w3 = arith.subi %c1, %i3 : index
    %v = tensor.extract %w[%i1, %i0, %h, %w3] : tensor<1x2x2x2xf32>
    linalg.yield %v : f32
  } -> tensor<2x1x2x2xf32>
  return %r : tensor<2x1x2x2xf32>
}

// Elementwise arithmetic on a constant input through a broadcasting map, reading the fill.
// CHECK-LABEL: func.func @scale
// CHECK-NOT: linalg.generic
// CHECK: arith.constant dense<{{\[}}[3.000000e+00, 5.000000e+00], [3.000000e+00, 5.000000e+00]]> : tensor<2x2xf32>
func.func @scale() -> tensor<2x2xf32> {
  %a = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<2x2xf32>
  %f = linalg.fill ins(%one : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<2xf32>) outs(%f : tensor<2x2xf32>) {
  ^bb0(%x: f32, %out: f32):
    %two = arith.addf %x, %x : f32
    %s = arith.addf %two, %out : f32
    linalg.yield %s : f32
  } -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// A runtime input, an index out of bounds, a reduction: left alone.
// CHECK-LABEL: func.func @runtime
// CHECK: linalg.generic
func.func @runtime(%x: tensor<2xf32>) -> tensor<2xf32> {
  %e = tensor.empty() : tensor<2xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]} ins(%x : tensor<2xf32>) outs(%e : tensor<2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  } -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// CHECK-LABEL: func.func @out_of_bounds
// CHECK: linalg.generic
func.func @out_of_bounds() -> tensor<2xf32> {
  %w = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %c1 = arith.constant 1 : index
  %e = tensor.empty() : tensor<2xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      outs(%e : tensor<2xf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %j = arith.addi %i, %c1 : index
    %v = tensor.extract %w[%j] : tensor<2xf32>
    linalg.yield %v : f32
  } -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// CHECK-LABEL: func.func @reduction
// CHECK: linalg.generic
func.func @reduction() -> tensor<f32> {
  %w = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                       iterator_types = ["reduction"]} ins(%w : tensor<2xf32>) outs(%f : tensor<f32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// Unordered comparisons (torch-mlir's clamp_min is `cmpf ult` + select) hold for NaN;
// ordered ones do not.
// CHECK-LABEL: func.func @unordered
// CHECK-NOT: linalg.generic
// CHECK-DAG: arith.constant dense<[true, false, true, false]> : tensor<4xi1>
// CHECK-DAG: arith.constant dense<[false, true, true, false]> : tensor<4xi1>
// CHECK-DAG: arith.constant dense<[true, true, true, false]> : tensor<4xi1>
func.func @unordered() -> (tensor<4xi1>, tensor<4xi1>, tensor<4xi1>) {
  %a = arith.constant dense<[0x7FC00000, 2.0, -1.0, 0.0]> : tensor<4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xi1>
  %ult = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                         iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%e : tensor<4xi1>) {
  ^bb0(%x: f32, %o: i1):
    %c = arith.cmpf ult, %x, %zero : f32
    linalg.yield %c : i1
  } -> tensor<4xi1>
  %one = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                         iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%e : tensor<4xi1>) {
  ^bb0(%x: f32, %o: i1):
    %c = arith.cmpf one, %x, %zero : f32
    linalg.yield %c : i1
  } -> tensor<4xi1>
  %une = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                         iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%e : tensor<4xi1>) {
  ^bb0(%x: f32, %o: i1):
    %c = arith.cmpf une, %x, %zero : f32
    linalg.yield %c : i1
  } -> tensor<4xi1>
  return %ult, %one, %une : tensor<4xi1>, tensor<4xi1>, tensor<4xi1>
}

// Nearest upsampling's source indices as the front end traces them: floor(i * scale) of an
// arange constant, cast to i64. floor, ceil, trunc and roundeven fold; -1.5 and 2.5 show
// the roundings apart (roundeven: -2 and 2).
// CHECK-LABEL: func.func @roundings
// CHECK-NOT: linalg.generic
// CHECK: arith.constant dense<{{\[}}[-2, -1, -1, -2], [2, 3, 2, 2]]> : tensor<2x4xi64>
func.func @roundings() -> tensor<2x4xi64> {
  %x = arith.constant dense<[-1.5, 2.5]> : tensor<2xf32>
  %e = tensor.empty() : tensor<2x4xi64>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2xf32>) outs(%e : tensor<2x4xi64>) {
  ^bb0(%in: f32, %out: i64):
    %k = linalg.index 1 : index
    %fl = math.floor %in : f32
    %ce = math.ceil %in : f32
    %tr = math.trunc %in : f32
    %re = math.roundeven %in : f32
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %lt1 = arith.cmpi slt, %k, %c1 : index
    %lt2 = arith.cmpi slt, %k, %c2 : index
    %a = arith.select %lt2, %ce, %tr : f32
    %b = arith.select %lt1, %fl, %a : f32
    %c3 = arith.constant 3 : index
    %last = arith.cmpi eq, %k, %c3 : index
    %v = arith.select %last, %re, %b : f32
    %i = arith.fptosi %v : f32 to i64
    linalg.yield %i : i64
  } -> tensor<2x4xi64>
  return %r : tensor<2x4xi64>
}

// A Python float added to an f32 tensor, as torch-mlir writes it: an f64 constant truncated
// to f32, which arith's folder keeps (1e-5 is inexact in f32), becomes the f32 constant.
// CHECK-LABEL: func.func @eps
// CHECK-NOT: f64
// CHECK: arith.constant 9.99999974E-6 : f32
// CHECK-NOT: truncf
func.func @eps(%x: f32) -> f32 {
  %eps64 = arith.constant 1.000000e-05 : f64
  %eps = arith.truncf %eps64 : f64 to f32
  %y = arith.addf %x, %eps : f32
  return %y : f32
}
