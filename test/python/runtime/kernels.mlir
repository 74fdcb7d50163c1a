// Small kernels for the ARM64 runtime tests (test/python/runtime). Upstream dialects only.

// c[i] += a[i] * b[i], four lanes at a time: the canonical fmla .4s loop.
func.func @fma4(%a: memref<?xf32>, %b: memref<?xf32>, %c: memref<?xf32>, %n: index)
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %n step %c4 {
    %va = vector.load %a[%i] : memref<?xf32>, vector<4xf32>
    %vb = vector.load %b[%i] : memref<?xf32>, vector<4xf32>
    %vc = vector.load %c[%i] : memref<?xf32>, vector<4xf32>
    %r = vector.fma %va, %vb, %vc : vector<4xf32>
    vector.store %r, %c[%i] : memref<?xf32>, vector<4xf32>
  }
  return
}

// The same loop without llvm.emit_c_interface: called through the expanded memref ABI.
func.func @fma4_plain(%a: memref<?xf32>, %b: memref<?xf32>, %c: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %n step %c4 {
    %va = vector.load %a[%i] : memref<?xf32>, vector<4xf32>
    %vb = vector.load %b[%i] : memref<?xf32>, vector<4xf32>
    %vc = vector.load %c[%i] : memref<?xf32>, vector<4xf32>
    %r = vector.fma %va, %vb, %vc : vector<4xf32>
    vector.store %r, %c[%i] : memref<?xf32>, vector<4xf32>
  }
  return
}

// out = sum over i of a[16i:16i+16] * b[16i:16i+16] folded to 4 lanes: four independent
// accumulators carried as iter_args, so the loop body holds four fmla.
func.func @dot4(%a: memref<?xf32>, %b: memref<?xf32>, %out: memref<4xf32>, %n: index)
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c12 = arith.constant 12 : index
  %c16 = arith.constant 16 : index
  %z = arith.constant dense<0.0> : vector<4xf32>
  %r:4 = scf.for %i = %c0 to %n step %c16 iter_args(%s0 = %z, %s1 = %z, %s2 = %z, %s3 = %z)
      -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
    %i1 = arith.addi %i, %c4 : index
    %i2 = arith.addi %i, %c8 : index
    %i3 = arith.addi %i, %c12 : index
    %a0 = vector.load %a[%i] : memref<?xf32>, vector<4xf32>
    %a1 = vector.load %a[%i1] : memref<?xf32>, vector<4xf32>
    %a2 = vector.load %a[%i2] : memref<?xf32>, vector<4xf32>
    %a3 = vector.load %a[%i3] : memref<?xf32>, vector<4xf32>
    %b0 = vector.load %b[%i] : memref<?xf32>, vector<4xf32>
    %b1 = vector.load %b[%i1] : memref<?xf32>, vector<4xf32>
    %b2 = vector.load %b[%i2] : memref<?xf32>, vector<4xf32>
    %b3 = vector.load %b[%i3] : memref<?xf32>, vector<4xf32>
    %t0 = vector.fma %a0, %b0, %s0 : vector<4xf32>
    %t1 = vector.fma %a1, %b1, %s1 : vector<4xf32>
    %t2 = vector.fma %a2, %b2, %s2 : vector<4xf32>
    %t3 = vector.fma %a3, %b3, %s3 : vector<4xf32>
    scf.yield %t0, %t1, %t2, %t3 : vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>
  }
  %u = arith.addf %r#0, %r#1 : vector<4xf32>
  %v = arith.addf %r#2, %r#3 : vector<4xf32>
  %w = arith.addf %u, %v : vector<4xf32>
  vector.store %w, %out[%c0] : memref<4xf32>, vector<4xf32>
  return
}

// y[i, j] = alpha * x[i, j] + k: a rank-2 memref with dynamic sizes and f32 / i32 scalars.
func.func @axpk2d(%x: memref<?x?xf32>, %y: memref<?x?xf32>, %alpha: f32, %k: i32)
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = memref.dim %x, %c0 : memref<?x?xf32>
  %cols = memref.dim %x, %c1 : memref<?x?xf32>
  %kf = arith.sitofp %k : i32 to f32
  scf.for %i = %c0 to %rows step %c1 {
    scf.for %j = %c0 to %cols step %c1 {
      %v = memref.load %x[%i, %j] : memref<?x?xf32>
      %m = arith.mulf %v, %alpha : f32
      %s = arith.addf %m, %kf : f32
      memref.store %s, %y[%i, %j] : memref<?x?xf32>
    }
  }
  return
}

// out[] = v: a rank-0 memref and an f64 scalar.
func.func @store0(%out: memref<f32>, %v: f64) attributes {llvm.emit_c_interface} {
  %t = arith.truncf %v : f64 to f32
  memref.store %t, %out[] : memref<f32>
  return
}

// Writes p[n]: one past the end when n == size (the driver's guard zone catches it); with a huge
// n the store faults and the driver dies with SIGSEGV under qemu.
func.func @write_at(%p: memref<?xf32>, %n: index) attributes {llvm.emit_c_interface} {
  %one = arith.constant 1.0 : f32
  memref.store %one, %p[%n] : memref<?xf32>
  return
}

