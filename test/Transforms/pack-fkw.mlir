// RUN: pattern-opt %s --pattern-pack-fkw | FileCheck %s

// Filter 1 keeps two kernels (patterns 1 and 0), filter 0 one (pattern 0):
// filter-kernel reorder puts the longer filter first, and FKW streams its
// kernels grouped by pattern: offsets [f*P + p] delimit each group, channels
// and weight rows follow in that order.
// CHECK-LABEL: func.func @forward
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[5.000000e-01, -5.000000e-01]> : tensor<2xf32>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{\[}}[9.000000e+00, 1.000000e+01, 1.100000e+01, 1.200000e+01], [5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00], [1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]]> : tensor<3x4xf32>
// CHECK: pattern.packed_conv2d %{{.*}}, %[[S]], %[[B]] library <3x3, {{\[}}[1, 3, 4, 5], [1, 4, 5, 7]]>
// CHECK-SAME: filter_order [1, 0] offsets [0, 1, 2, 3, 3] channels [1, 0, 0]
// CHECK-SAME: strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <relu>
// CHECK-NOT: pattern.conv2d
func.func @forward(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]]> : tensor<3x4xf32>
  %b = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %y = pattern.conv2d %x, %w, %b library #pattern.library<3x3, [[1, 3, 4, 5], [1, 4, 5, 7]]> assignment [0, -1, 1, 0]
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] activation <relu>
         : tensor<1x2x8x8xf32>, tensor<3x4xf32>, tensor<2xf32> -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}
