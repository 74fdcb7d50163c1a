// RUN: not pattern-opt %s --pattern-lower-to-gpu 2>&1 | FileCheck %s

// A kernel that needs a capability the Adreno 640 lacks (an f64 tensor handed over by
// the caller cannot be demoted to f32: Float64) is rejected before SPIR-V conversion,
// with the kernel, the capability, the op and the profile named (upstream would only say
// "failed to legalize").

// CHECK: error: kernel 'k0_generic' needs SPIR-V capability Float64 (64-bit floating point: 'memref.load' produces f64 at {{.*}}), which the adreno-640 profile does not offer

#id = affine_map<(d0) -> (d0)>
func.func @main(%x: tensor<8xf64>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf64>) outs(%e : tensor<8xf32>) {
  ^bb0(%in: f64, %out: f32):
    %s = arith.mulf %in, %in : f64
    %r = arith.truncf %s : f64 to f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %y : tensor<8xf32>
}
