// RUN: pattern-opt %s -split-input-file --pattern-vectorize-dense=target=x86-64-v4 | FileCheck %s
// RUN: pattern-opt %s -split-input-file --pattern-vectorize-dense="target=arm64-neon" | FileCheck %s --check-prefix=NEON

// The transform-dialect route keeps every vector small whatever the reduced dimension:
// the vector runs along the innermost loop, every other loop is tiled by 1.

// A mean over channels (NCHW dim 1, here of 1x8x64): the reduction loop is sequential and
// accumulates whole 64-lane rows (16 on NEON, 4 tiles); no multi-reduction is left to be
// unrolled lane by lane. (Before, a vector<1x8x1xf32> multi-reduction per column sent the
// vector lowering into a rewrite loop that never ended.) The reduction loop runs inside
// the output's tile loop and carries the accumulator as a vector: the output is read and
// written once per tile, not once per channel.
// CHECK-LABEL: func.func @channel_mean
// CHECK: %[[ACC:.*]] = vector.transfer_read {{.*}} : tensor<1x64xf32>, vector<64xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %c8 step %c1 iter_args(%{{.*}} = %[[ACC]]) -> (vector<64xf32>)
// CHECK: vector.transfer_read {{.*}} : tensor<1x1x64xf32>, vector<64xf32>
// CHECK-NOT: vector.extract
// CHECK: arith.addf %{{.*}}, %{{.*}} : vector<64xf32>
// CHECK: scf.yield %{{.*}} : vector<64xf32>
// CHECK: vector.transfer_write {{.*}} : vector<64xf32>, tensor<1x64xf32>
// CHECK-NOT: vector.multi_reduction
// CHECK: return
// NEON-LABEL: func.func @channel_mean
// NEON: scf.for %{{.*}} = %{{.*}} to %c64 step %c16 iter_args
// NEON: %[[ACC:.*]] = vector.transfer_read {{.*}} : tensor<1x16xf32>, vector<16xf32>
// NEON: scf.for %{{.*}} = %{{.*}} to %c8 step %c1 iter_args(%{{.*}} = %[[ACC]]) -> (vector<16xf32>)
// NEON: arith.addf %{{.*}}, %{{.*}} : vector<16xf32>
// NEON: vector.transfer_write {{.*}} : vector<16xf32>, tensor<1x16xf32>
func.func @channel_mean(%x: tensor<1x8x64xf32>) -> tensor<1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x64xf32>) -> tensor<1x64xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>],
                       iterator_types = ["parallel", "reduction", "parallel"]}
         ins(%x : tensor<1x8x64xf32>) outs(%f : tensor<1x64xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = arith.addf %in, %acc : f32
    linalg.yield %a : f32
  } -> tensor<1x64xf32>
  return %s : tensor<1x64xf32>
}

// -----

// The same over an image (1x8x8x16): rows and columns are one contiguous run in every
// operand, so they become one loop of 128 pixels, two tiles of 64 lanes (8 of 16 on NEON),
// each accumulated over the channels in registers.
// CHECK-LABEL: func.func @channel_mean_image
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : tensor<1x8x8x16xf32> into tensor<1x8x128xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %c128 step %c64 iter_args
// CHECK: scf.for %{{.*}} = %{{.*}} to %c8 step %c1 iter_args(%{{.*}} = %{{.*}}) -> (vector<64xf32>)
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [1, 8, 16]
// NEON-LABEL: func.func @channel_mean_image
// NEON: scf.for %{{.*}} = %{{.*}} to %c128 step %c16 iter_args
// NEON: scf.for %{{.*}} = %{{.*}} to %c8 step %c1 iter_args(%{{.*}} = %{{.*}}) -> (vector<16xf32>)
func.func @channel_mean_image(%x: tensor<1x8x8x16xf32>) -> tensor<1x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>],
                       iterator_types = ["parallel", "reduction", "parallel", "parallel"]}
         ins(%x : tensor<1x8x8x16xf32>) outs(%f : tensor<1x8x16xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = arith.addf %in, %acc : f32
    linalg.yield %a : f32
  } -> tensor<1x8x16xf32>
  return %s : tensor<1x8x16xf32>
}

// -----

// The middle of a softmax over channels: exp(x - max), the max broadcast along dim 1. The
// rows and columns every operand reads together are one loop (passes/dense/collapse.py): one
// vector of 36 per channel, both operands read as plain rows (no broadcast op).
// CHECK-LABEL: func.func @softmax_channels
// CHECK: scf.for
// CHECK-NOT: scf.for
// CHECK: %[[D:.*]] = arith.subf %{{.*}}, %{{.*}} : vector<36xf32>
// CHECK: math.exp %[[D]] : vector<36xf32>
// CHECK-NOT: vector.broadcast
// CHECK: return
func.func @softmax_channels(%x: tensor<1x4x6x6xf32>, %m: tensor<1x1x6x6xf32>) -> tensor<1x4x6x6xf32> {
  %e = tensor.empty() : tensor<1x4x6x6xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%x, %m : tensor<1x4x6x6xf32>, tensor<1x1x6x6xf32>) outs(%e : tensor<1x4x6x6xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %s = arith.subf %in, %in_0 : f32
    %y = math.exp %s : f32
    linalg.yield %y : f32
  } -> tensor<1x4x6x6xf32>
  return %r : tensor<1x4x6x6xf32>
}

// -----

// A reduction over a 1000-long last dimension: 256-lane pieces (16 native vectors; 64 on
// NEON) accumulated in order, and the 232-lane remainder split off. Within a piece the sum
// may be reassociated (a tree of vector adds, not one scalar add per lane).
// CHECK-LABEL: func.func @long_row
// CHECK: scf.for %{{.*}} = %{{.*}} to %c768 step %c256
// CHECK: vector.reduction <add>, %{{.*}}, %{{.*}} fastmath<reassoc> : vector<256xf32> into f32
// CHECK: vector.reduction <add>, %{{.*}}, %{{.*}} fastmath<reassoc> : vector<232xf32> into f32
// NEON-LABEL: func.func @long_row
// NEON: scf.for %{{.*}} = %{{.*}} to %c960 step %c64
// NEON: vector.reduction <add>, %{{.*}}, %{{.*}} fastmath<reassoc> : vector<64xf32> into f32
// NEON: vector.reduction <add>, %{{.*}}, %{{.*}} fastmath<reassoc> : vector<40xf32> into f32
func.func @long_row(%x: tensor<1x3x1000xf32>) -> tensor<1x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x3xf32>) -> tensor<1x3xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
         ins(%x : tensor<1x3x1000xf32>) outs(%f : tensor<1x3xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = arith.addf %in, %acc : f32
    linalg.yield %a : f32
  } -> tensor<1x3xf32>
  return %s : tensor<1x3xf32>
}

// -----

// Global pooling over 28x28: more rows than one vector may hold (16), so one row at a time.
// CHECK-LABEL: func.func @global_pool
// CHECK: scf.for %{{.*}} = %{{.*}} to %c4 step %c1
// CHECK: scf.for %{{.*}} = %{{.*}} to %c28 step %c1
// CHECK: vector.reduction <add>, %{{.*}}, %{{.*}} fastmath<reassoc> : vector<28xf32> into f32
func.func @global_pool(%x: tensor<1x4x28x28xf32>) -> tensor<1x4x1x1xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x1x1xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x1x1xf32>) -> tensor<1x4x1x1xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>],
                       iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
         ins(%x : tensor<1x4x28x28xf32>) outs(%f : tensor<1x4x1x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = arith.addf %in, %acc : f32
    linalg.yield %a : f32
  } -> tensor<1x4x1x1xf32>
  return %s : tensor<1x4x1x1xf32>
}

// -----

// A log-softmax's sum of exponentials over rows of 192, longer than the bounded vector of
// a body with a math function (64 floats here). The unit dimension of the result is
// dropped (passes/dense/collapse.py), and the row is tiled into a vector of 64 partial sums
// carried in registers through the row's loop, combined across lanes once per row: no
// reduction across lanes inside the loop, no accumulator read and written per tile.
// CHECK-LABEL: func.func @sum_exp_rows
// CHECK: scf.for %{{.*}} = %{{.*}} to %c4 step %c1
// CHECK: scf.for %{{.*}} = %{{.*}} to %c192 step %c64 iter_args(%{{.*}} = %{{.*}}) -> (vector<64xf32>)
// CHECK-NOT: vector.reduction
// CHECK: math.exp %{{.*}} : vector<64xf32>
// CHECK: arith.addf %{{.*}}, %{{.*}} : vector<64xf32>
// CHECK: scf.yield %{{.*}} : vector<64xf32>
// CHECK: vector.reduction <add>, %{{.*}} : vector<64xf32> into f32
// CHECK: return
// NEON-LABEL: func.func @sum_exp_rows
// NEON: scf.for %{{.*}} = %{{.*}} to %c192 step %c16 iter_args(%{{.*}} = %{{.*}}) -> (vector<16xf32>)
// NEON: vector.reduction <add>, %{{.*}} : vector<16xf32> into f32
func.func @sum_exp_rows(%x: tensor<1x4x192xf32>, %m: tensor<1x4x1xf32>) -> tensor<1x4x1xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x1xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1, 0)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1, 0)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
         ins(%x, %m : tensor<1x4x192xf32>, tensor<1x4x1xf32>) outs(%f : tensor<1x4x1xf32>) {
  ^bb0(%in: f32, %max: f32, %acc: f32):
    %d = arith.subf %in, %max : f32
    %y = math.exp %d : f32
    %a = arith.addf %y, %acc : f32
    linalg.yield %a : f32
  } -> tensor<1x4x1xf32>
  return %s : tensor<1x4x1xf32>
}
