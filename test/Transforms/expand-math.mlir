// RUN: pattern-opt %s --split-input-file --pattern-expand-math | FileCheck %s
// RUN: pattern-opt %s --split-input-file --pattern-expand-math | FileCheck %s --check-prefix=NOEXP

// erf on f32 vectors: a polynomial in x^2 for small |x|, otherwise a polynomial in |x|
// (clamped where erf rounds to 1) with the sign of x; no exp and no division.
// CHECK-LABEL: func.func @erf_f32
// CHECK-NOT: math.erf
// CHECK: math.absf
// Horner steps may contract into FMAs:
// CHECK: arith.mulf {{.*}} fastmath<contract>
// CHECK: arith.addf {{.*}} fastmath<contract>
// The clamps are compares and selects (NaN passes), not minimumf (which orders zeros too):
// CHECK: arith.cmpf ogt
// CHECK: arith.select
// CHECK: math.copysign
// CHECK: arith.cmpf olt
// CHECK: arith.select
// CHECK-NOT: math.erf
// NOEXP-LABEL: func.func @erf_f32
// NOEXP-NOT: {{math.exp|math.roundeven|arith.divf}}
// NOEXP-LABEL: func.func @erfc_f16
func.func @erf_f32(%x: vector<8xf32>) -> vector<8xf32> {
  %y = math.erf %x : vector<8xf32>
  return %y : vector<8xf32>
}

// -----

// erfc: the tail formula, mirrored for negative x; f16 is computed in f32.
// CHECK-LABEL: func.func @erfc_f16
// CHECK: %[[W:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK: arith.shrsi
// CHECK: arith.cmpf olt, %[[W]]
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK-NOT: math.erfc
func.func @erfc_f16(%x: f16) -> f16 {
  %y = math.erfc %x : f16
  return %y : f16
}

// -----

// f64 keeps its accuracy through libm in the 'llvm' stage.
// CHECK-LABEL: func.func @erf_f64
// CHECK: math.erf %{{.*}} : f64
func.func @erf_f64(%x: f64) -> f64 {
  %y = math.erf %x : f64
  return %y : f64
}

// -----

// x ** 3 with the splat exponent vectorisation leaves: two multiplications.
// CHECK-LABEL: func.func @cube
// CHECK-SAME: (%[[X:.*]]: vector<64xf32>)
// CHECK: %[[SQ:.*]] = arith.mulf %[[X]], %[[X]] : vector<64xf32>
// CHECK: %[[CUBE:.*]] = arith.mulf %[[X]], %[[SQ]] : vector<64xf32>
// CHECK: return %[[CUBE]]
func.func @cube(%x: vector<64xf32>) -> vector<64xf32> {
  %c3 = arith.constant dense<3> : vector<64xi64>
  %y = math.fpowi %x, %c3 : vector<64xf32>, vector<64xi64>
  return %y : vector<64xf32>
}

// -----

// A negative exponent divides once at the end; x ** 0 is 1.
// CHECK-LABEL: func.func @inverse_square
// CHECK-SAME: (%[[X:.*]]: f32)
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[SQ:.*]] = arith.mulf %[[X]], %[[X]] : f32
// CHECK: %[[INV:.*]] = arith.divf %[[ONE]], %[[SQ]] : f32
// CHECK: return %[[INV]], %{{.*}} : f32, f32
func.func @inverse_square(%x: f32) -> (f32, f32) {
  %cm2 = arith.constant -2 : i32
  %c0 = arith.constant 0 : i32
  %y = math.fpowi %x, %cm2 : f32, i32
  %z = math.fpowi %x, %c0 : f32, i32
  return %y, %z : f32, f32
}

// -----

// Integer powers with a constant exponent >= 0 multiply too; a variable exponent is left
// to math-expand-ops / convert-math-to-funcs in the 'llvm' stage.
// CHECK-LABEL: func.func @integer_and_variable
// CHECK-SAME: (%[[X:.*]]: i32, %[[F:.*]]: f32, %[[N:.*]]: i32)
// CHECK: %[[X2:.*]] = arith.muli %[[X]], %[[X]] : i32
// CHECK: %[[X4:.*]] = arith.muli %[[X2]], %[[X2]] : i32
// CHECK: %[[X5:.*]] = arith.muli %[[X]], %[[X4]] : i32
// CHECK: %[[P:.*]] = math.fpowi %[[F]], %[[N]] : f32, i32
// CHECK: return %[[X5]], %[[P]]
func.func @integer_and_variable(%x: i32, %f: f32, %n: i32) -> (i32, f32) {
  %c5 = arith.constant 5 : i32
  %y = math.ipowi %x, %c5 : i32
  %p = math.fpowi %f, %n : f32, i32
  return %y, %p : i32, f32
}

// -----

// exp on f32 vectors: no libm call left. Range clamp, n = x / ln2 rounded by adding
// 1.5 * 2**23 (whose bits then hold n as an integer), the remainder's polynomial, 2**n in
// two halves from exponent bits (integer arithmetic on the sum's bits); past the range the
// product overflows to +inf, a NaN fails both compares of the clamp and passes through the
// rest as NaN. The rounding and the remainder's two steps may contract into FMAs.
// CHECK-LABEL: func.func @exp_f32
// CHECK-NOT: math.exp
// CHECK: arith.cmpf olt
// CHECK: arith.select
// CHECK: arith.cmpf ogt
// CHECK: arith.select
// CHECK: %[[M:.*]] = arith.mulf {{.*}} fastmath<contract>
// CHECK: %[[S:.*]] = arith.addf %[[M]], %[[R:.*]] fastmath<contract>
// CHECK: arith.subf %[[S]], %[[R]] : vector<4xf32>
// CHECK: arith.subf {{.*}} fastmath<contract>
// CHECK: %[[B:.*]] = arith.bitcast %[[S]] : vector<4xf32> to vector<4xi32>
// CHECK: arith.subi %[[B]]
// CHECK: arith.shrsi
// CHECK: arith.shli
// CHECK: arith.bitcast {{.*}} : vector<4xi32> to vector<4xf32>
// CHECK-NOT: math.roundeven
// CHECK-NOT: math.floor
// CHECK-NOT: arith.fptosi
// CHECK-NOT: arith.minimumf
// CHECK-NOT: arith.maximumf
// CHECK-NOT: math.exp
func.func @exp_f32(%x: vector<4xf32>) -> vector<4xf32> {
  %y = math.exp %x : vector<4xf32>
  return %y : vector<4xf32>
}

// -----

// tanh: its Taylor polynomial near 0, 1 - 2 / (exp(2|x|) + 1) with x's sign elsewhere.
// CHECK-LABEL: func.func @tanh_f32
// CHECK-NOT: math.tanh
// CHECK: math.absf
// CHECK: arith.shrsi
// CHECK: math.copysign
// CHECK: arith.select
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
func.func @tanh_f32(%x: f32) -> f32 {
  %y = math.tanh %x : f32
  return %y : f32
}

// -----

// f64 exp and tanh stay for libm.
// CHECK-LABEL: func.func @exp_f64
// CHECK: math.exp %{{.*}} : f64
// CHECK: math.tanh %{{.*}} : f64
func.func @exp_f64(%x: f64) -> f64 {
  %y = math.exp %x : f64
  %z = math.tanh %y : f64
  return %z : f64
}
