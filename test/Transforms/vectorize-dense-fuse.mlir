// RUN: pattern-opt %s -split-input-file --pattern-vectorize-dense=target=x86-64-v4 | FileCheck %s

// Elementwise producers inlined into the generics that read them (passes/dense/fuse.py).

// The variance of a LayerNorm as torch-mlir writes it: the input widened to f64, the
// squared deviations from the mean, then their sum. Both producers become part of the
// sum's body, so no f64 copy of the input is written; the f64 vectors are reduced in any
// order (a tree of vector adds).
// CHECK-LABEL: func.func @variance
// CHECK-NOT: tensor<1x4x192xf64>
// CHECK: arith.extf {{.*}} : vector<{{[0-9]+}}xf32> to vector<{{[0-9]+}}xf64>
// CHECK: arith.subf {{.*}} : vector<{{[0-9]+}}xf64>
// CHECK: vector.reduction <add>, {{.*}} fastmath<reassoc> : vector<{{[0-9]+}}xf64> into f64
// CHECK-NOT: tensor<1x4x192xf64>
// CHECK: return
func.func @variance(%x: tensor<1x4x192xf32>, %mean: tensor<1x4x1xf64>) -> tensor<1x4x1xf64> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<1x4x192xf64>
  %wide = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                          iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x192xf32>) outs(%e : tensor<1x4x192xf64>) {
  ^bb0(%in: f32, %out: f64):
    %w = arith.extf %in : f32 to f64
    linalg.yield %w : f64
  } -> tensor<1x4x192xf64>
  %dev = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                         iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%wide, %mean : tensor<1x4x192xf64>, tensor<1x4x1xf64>) outs(%e : tensor<1x4x192xf64>) {
  ^bb0(%in: f64, %m: f64, %out: f64):
    %d = arith.subf %in, %m : f64
    %s = arith.mulf %d, %d : f64
    linalg.yield %s : f64
  } -> tensor<1x4x192xf64>
  %init = tensor.empty() : tensor<1x4x1xf64>
  %zeros = linalg.fill ins(%zero : f64) outs(%init : tensor<1x4x1xf64>) -> tensor<1x4x1xf64>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>],
                         iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%dev : tensor<1x4x192xf64>) outs(%zeros : tensor<1x4x1xf64>) {
  ^bb0(%in: f64, %acc: f64):
    %a = arith.addf %in, %acc : f64
    linalg.yield %a : f64
  } -> tensor<1x4x1xf64>
  return %sum : tensor<1x4x1xf64>
}

// -----

// The end of a log-softmax: `x - max` feeds both the sum of exponentials and the result.
// It is cheap, so it is computed in both instead of written and read back. The log of the
// row's sum is computed for all rows at once, in a vector, by a generic of its own
// (passes/dense/hoist.py), and read by the result's loop. The sum, whose body computes exp, is
// taken in vectors of TILE_VECTORS native vectors, as more would spill.
// CHECK-LABEL: func.func @log_softmax_tail
// CHECK: scf.for
// CHECK: scf.for
// CHECK: math.exp {{.*}} : vector<64xf32>
// CHECK: math.log {{.*}} : vector<4xf32>
// CHECK: scf.for
// CHECK: scf.for
// CHECK-NOT: math.log
// CHECK: return
func.func @log_softmax_tail(%x: tensor<1x4x192xf32>, %max: tensor<1x4x1xf32>) -> tensor<1x4x192xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x192xf32>
  %shifted = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                             iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %max : tensor<1x4x192xf32>, tensor<1x4x1xf32>) outs(%e : tensor<1x4x192xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %d = arith.subf %in, %m : f32
    linalg.yield %d : f32
  } -> tensor<1x4x192xf32>
  %init = tensor.empty() : tensor<1x4x1xf32>
  %zeros = linalg.fill ins(%zero : f32) outs(%init : tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>],
                         iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%shifted : tensor<1x4x192xf32>) outs(%zeros : tensor<1x4x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %x1 = math.exp %in : f32
    %a = arith.addf %x1, %acc : f32
    linalg.yield %a : f32
  } -> tensor<1x4x1xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%shifted, %sum : tensor<1x4x192xf32>, tensor<1x4x1xf32>) outs(%e : tensor<1x4x192xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %l = math.log %s : f32
    %d = arith.subf %in, %l : f32
    linalg.yield %d : f32
  } -> tensor<1x4x192xf32>
  return %r : tensor<1x4x192xf32>
}

// -----

// Divisions (passes/dense/hoist.py): a softmax's quotient x / sum as x * (1 / sum), the
// reciprocal computed once per row in a generic of its own (4 rows: one vector of 4); a
// division by the constant 6 (Hardsigmoid) as a multiplication by 1/6 rounded to f32.
// CHECK-LABEL: func.func @divisions
// CHECK: %[[SIXTH:.*]] = arith.constant dense<0.166666672> : vector<64xf32>
// CHECK: arith.divf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK-NOT: arith.divf
// CHECK: arith.mulf %{{.*}}, %{{.*}} : vector<64xf32>
// CHECK: arith.mulf %{{.*}}, %[[SIXTH]] : vector<64xf32>
// CHECK-NOT: arith.divf
// CHECK: return
func.func @divisions(%x: tensor<1x4x64xf32>, %s: tensor<1x4x1xf32>) -> tensor<1x4x64xf32> {
  %six = arith.constant 6.0 : f32
  %e = tensor.empty() : tensor<1x4x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1, 0)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
         ins(%x, %s : tensor<1x4x64xf32>, tensor<1x4x1xf32>) outs(%e : tensor<1x4x64xf32>) {
  ^bb0(%in: f32, %sum: f32, %out: f32):
    %q = arith.divf %in, %sum : f32
    %h = arith.divf %q, %six : f32
    linalg.yield %h : f32
  } -> tensor<1x4x64xf32>
  return %r : tensor<1x4x64xf32>
}
